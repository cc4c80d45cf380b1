-- The versions table for examples/versioned/config.yaml: the source columns,
-- then the version and the deleted flag starsink fills.
CREATE TABLE subway.subway_passengers_versions (
    use_date     VARCHAR(8)   NOT NULL,
    line_no      VARCHAR(100) NOT NULL,
    station_name VARCHAR(100) NOT NULL,
    pass_in      DECIMAL(13, 0),
    pass_out     DECIMAL(13, 0),
    reg_date     VARCHAR(8),
    _version     BIGINT       NOT NULL,
    _deleted     BOOLEAN      NOT NULL
) DUPLICATE KEY (use_date, line_no, station_name)
DISTRIBUTED BY HASH (use_date, line_no, station_name);

-- The source table as of the last loaded change: the latest version of each
-- key, unless that change was a delete.
CREATE VIEW subway.subway_passengers_latest AS
SELECT use_date, line_no, station_name, pass_in, pass_out, reg_date
FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY use_date, line_no, station_name
                                 ORDER BY _version DESC) AS rn
    FROM subway.subway_passengers_versions
) latest
WHERE rn = 1 AND NOT _deleted;
