"""Questions, answers, chat platforms and the command line."""
