"""ktrack's built-in plugins, installed as tracker.plugins; each module is one concern."""
