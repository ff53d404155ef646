"""Runs submitted by agents: readings, models, the agent's and the server's results; review."""
