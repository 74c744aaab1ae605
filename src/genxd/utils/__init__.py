"""Small shared utilities (file I/O) used by every package; no heavy imports."""
