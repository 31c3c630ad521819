"""How the graph gets materialised: headless backfills, sensors, schedules, automation conditions."""
