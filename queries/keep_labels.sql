INSERT INTO labels SELECT request_id, label, label_num, ts, source FROM typed WHERE reason IS NULL
