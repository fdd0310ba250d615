"""status and verify: read the plan's kinds of reasons and the files, never write."""
