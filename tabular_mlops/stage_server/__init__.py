"""Run DVC stages in processes forked from a warm interpreter instead of a cold one."""
