"""Small helpers shared by the nodes: config enums, model loading, torch runtime settings."""
