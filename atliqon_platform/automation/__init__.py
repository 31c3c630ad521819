"""When the graph gets materialised by itself: sensors, schedules, automation conditions."""
