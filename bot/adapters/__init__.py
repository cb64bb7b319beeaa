"""Chat front ends: Discord, Slack and the terminal.

Each only translates between its platform and the service.
"""
