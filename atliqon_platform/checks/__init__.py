"""Asset checks for every layer: the rules, how their results are reported, and their definitions."""
