INSERT OR REPLACE INTO read_cursors VALUES ($path, $offset, $line_no, $size, $mtime_ns, $header)
