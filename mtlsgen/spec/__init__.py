"""What the user asked for: YAML with line numbers, the file format, resolution to entries, names."""
