-- The reference tables on the source side (docker-compose's PostgreSQL).
CREATE TABLE public.subway_info_copy (
  line_no varchar(100) NOT NULL, station_name varchar(100) NOT NULL,
  station_code varchar(20), ext_code varchar(20), reg_date varchar(8),
  PRIMARY KEY (line_no, station_name));
CREATE TABLE public.subway_passengers_copy (
  use_date varchar(8) NOT NULL, line_no varchar(100) NOT NULL, station_name varchar(100) NOT NULL,
  pass_in numeric(13), pass_out numeric(13), reg_date varchar(8),
  PRIMARY KEY (use_date, line_no, station_name));
CREATE TABLE public.subway_passengers_time_copy (
  use_month varchar(6) NOT NULL, line_no varchar(100) NOT NULL, station_name varchar(100) NOT NULL,
  time_band varchar(20) NOT NULL, pass_in numeric(12), pass_out numeric(12), reg_date varchar(8),
  PRIMARY KEY (use_month, line_no, station_name, time_band));
ALTER TABLE public.subway_info_copy REPLICA IDENTITY FULL;
ALTER TABLE public.subway_passengers_copy REPLICA IDENTITY FULL;
ALTER TABLE public.subway_passengers_time_copy REPLICA IDENTITY FULL;
CREATE PUBLICATION starsink FOR TABLE public.subway_info_copy, public.subway_passengers_copy, public.subway_passengers_time_copy;

INSERT INTO public.subway_info_copy VALUES
  ('2호선', '강남', '0222', NULL, '20240104'), ('신분당선', '강남', 'D07', NULL, '20240104'),
  ('9호선', '신논현', '0925', NULL, '20240104'), ('1호선', '서울역', '0150', NULL, '20240104');
INSERT INTO public.subway_passengers_copy VALUES
  ('20240101', '2호선', '강남', 98765, 101234, '20240104'),
  ('20240101', '신분당선', '강남', 40211, 39876, '20240104'),
  ('20240101', '9호선', '신논현', 12345, 13001, '20240104');
INSERT INTO public.subway_passengers_time_copy VALUES
  ('202401', '2호선', '강남', '08시-09시', 412345, 398765, '20240204'),
  ('202401', '2호선', '강남', '18시-19시', 455678, 470001, '20240204');
