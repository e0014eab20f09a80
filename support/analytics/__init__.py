"""Admin analytics: the dashboard's charts (selectors + server-rendered SVG) and "ask the data"."""
