-- Photos on cases (issue 15): before and after, taken by grid workers and partners.
-- Only images the server re-encoded are kept (JPEG, no EXIF, no GPS), each with its
-- thumbnail.
CREATE TABLE case_photos (
    id         INTEGER PRIMARY KEY,
    case_id    INTEGER NOT NULL REFERENCES cases (id),
    at_ms      INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('before', 'during', 'after')),
    note       TEXT    NOT NULL,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    image      BLOB    NOT NULL,
    thumb      BLOB    NOT NULL
);
CREATE INDEX case_photos_by_case ON case_photos (case_id, id);
