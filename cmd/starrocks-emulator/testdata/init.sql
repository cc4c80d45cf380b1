CREATE DATABASE subway;
USE subway;
CREATE TABLE subway_info_copy (
    line_no      VARCHAR(100) NOT NULL,
    station_name VARCHAR(100) NOT NULL,
    station_cd   VARCHAR(10)
) PRIMARY KEY (line_no, station_name) DISTRIBUTED BY HASH (line_no);
