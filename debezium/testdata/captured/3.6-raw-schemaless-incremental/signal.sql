INSERT INTO debezium_signal VALUES ('incremental-info', 'execute-snapshot',
  '{"data-collections": ["public.subway_info_copy"], "type": "incremental"}');
