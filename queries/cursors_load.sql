SELECT path, "offset", line_no, size, mtime_ns, header FROM read_cursors
