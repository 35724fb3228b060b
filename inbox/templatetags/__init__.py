"""Template filters of the agent inbox."""
