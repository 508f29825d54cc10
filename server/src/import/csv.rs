//! A small CSV reader (RFC 4180) for `linli import homes`: bytes of a file in, its
//! records out, each with the row number a spreadsheet shows for it.
//!
//! Pure, and strict where a lenient reader would silently shift columns. What it takes:
//! UTF-8 text, a byte-order mark at the start skipped; fields separated by commas;
//! records ended by CRLF, LF or a lone CR, the last one with or without a line end; a
//! field either unquoted, holding no quote, or quoted whole (`"…"`), when it may hold
//! commas, line breaks and quotes written twice (`""`). Fields are kept exactly as
//! written (no trimming). A blank line is a record of one empty field: it keeps its
//! row number, so the numbers match the spreadsheet the file came from. What is refused
//! (text that is not UTF-8, a quote inside an unquoted field, text after a closing
//! quote, a quoted field that never closes) is listed by the tests at the end.
//!
//! Why not the `csv` crate (which `linli export` writes with): it reads what a careless
//! file holds without complaint, and here that means wrong elder data. Tried on this
//! module's tests, it took `1,2 "x"` as the text `2 "x"`, `"x"z` as `xz`, and a quote
//! left open swallowed every later row into one field; it also skips blank lines, so
//! its row numbers would no longer match the spreadsheet's that the problem list
//! names. Each of these is refused here, with the row and line.

use std::iter::Peekable;
use std::str::Chars;

/// One record of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's number as a spreadsheet shows it: the first record is row 1.
    pub row: usize,
    /// The line of the file where the record starts (1-based). Larger than `row` once a
    /// quoted field before it held a line break.
    pub line: usize,
    pub fields: Vec<String>,
}

impl Record {
    /// Whether the record holds nothing but empty or blank fields: a blank line, or an
    /// empty spreadsheet row saved as `,,,`.
    pub fn is_blank(&self) -> bool {
        self.fields.iter().all(|f| f.trim().is_empty())
    }
}

/// Why the file cannot be read as CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The row where reading stopped, when the text could be decoded.
    pub row: Option<usize>,
    pub message: String,
}

/// Decodes the file (UTF-8, an optional byte-order mark skipped) and reads every record.
pub fn read(bytes: &[u8]) -> Result<Vec<Record>, Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
        Error {
            row: None,
            message: format!(
                "the file is not UTF-8 text: line {line} holds bytes that are not UTF-8 \
                 (save it from the spreadsheet as \"CSV UTF-8\"; convert GBK or GB18030 \
                 files to UTF-8 first)"
            ),
        }
    })?;
    records(text)
}

/// Reads every record of decoded text.
pub fn records(text: &str) -> Result<Vec<Record>, Error> {
    let mut reader = Reader {
        chars: text.chars().peekable(),
        line: 1,
    };
    let mut records = Vec::new();
    while reader.chars.peek().is_some() {
        let row = records.len() + 1;
        let line = reader.line;
        let fields = reader.record().map_err(|message| Error {
            row: Some(row),
            message,
        })?;
        records.push(Record { row, line, fields });
    }
    Ok(records)
}

struct Reader<'a> {
    chars: Peekable<Chars<'a>>,
    /// The current line (1-based).
    line: usize,
}

impl Reader<'_> {
    /// One record, up to and including its line end.
    fn record(&mut self) -> Result<Vec<String>, String> {
        let mut fields = Vec::new();
        loop {
            let number = fields.len() + 1;
            let field = if self.chars.peek() == Some(&'"') {
                self.quoted(number)?
            } else {
                self.unquoted(number)?
            };
            fields.push(field);
            match self.chars.next() {
                Some(',') => {}
                Some('\r') => {
                    self.chars.next_if_eq(&'\n');
                    self.line += 1;
                    return Ok(fields);
                }
                Some('\n') => {
                    self.line += 1;
                    return Ok(fields);
                }
                // The end of the text; nothing else ends a field.
                _ => return Ok(fields),
            }
        }
    }

    /// A field without quotes, up to the next comma or line end.
    fn unquoted(&mut self, number: usize) -> Result<String, String> {
        let mut field = String::new();
        while let Some(&c) = self.chars.peek() {
            match c {
                ',' | '\r' | '\n' => break,
                '"' => {
                    return Err(format!(
                        "field {number} (line {}) holds a quote but does not start with one: \
                         quote the whole field and write the quote twice, as in \"a \"\"b\"\" c\"",
                        self.line
                    ))
                }
                _ => {
                    field.push(c);
                    self.chars.next();
                }
            }
        }
        Ok(field)
    }

    /// A quoted field, from its opening quote to just after its closing one.
    fn quoted(&mut self, number: usize) -> Result<String, String> {
        let opened = self.line;
        self.chars.next();
        let mut field = String::new();
        loop {
            match self.chars.next() {
                None => {
                    return Err(format!(
                        "field {number} opens a quote on line {opened} that is never closed"
                    ))
                }
                Some('"') if self.chars.next_if_eq(&'"').is_some() => field.push('"'),
                Some('"') => break,
                Some(c) => {
                    // CRLF counts once, on its LF; a lone CR is a line end of its own.
                    if c == '\n' || (c == '\r' && self.chars.peek() != Some(&'\n')) {
                        self.line += 1;
                    }
                    field.push(c);
                }
            }
        }
        match self.chars.peek() {
            None | Some(',' | '\r' | '\n') => Ok(field),
            Some(c) => Err(format!(
                "field {number} (line {}) goes on with `{c}` after its closing quote: a quote \
                 inside a quoted field is written twice (\"\")",
                self.line
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<Vec<String>> {
        records(text)
            .unwrap()
            .into_iter()
            .map(|r| r.fields)
            .collect()
    }

    fn refused(text: &str) -> Error {
        records(text).expect_err("accepted")
    }

    #[test]
    fn plain_fields_and_line_ends() {
        assert_eq!(fields("a,b,c\n1,2,3\n"), [["a", "b", "c"], ["1", "2", "3"]]);
        assert_eq!(fields("a,b\r\n1,2"), [["a", "b"], ["1", "2"]]);
        assert_eq!(fields("a,b\r1,2\r"), [["a", "b"], ["1", "2"]]);
        // Empty fields, at the ends too; spaces are kept as written.
        assert_eq!(fields(",a,, b \n"), [vec!["", "a", "", " b "]]);
        assert!(records("").unwrap().is_empty());
    }

    #[test]
    fn quoted_fields_hold_commas_quotes_and_line_breaks() {
        let text = "id,contact\nh1,\"女儿 王敏, 139\"\nh2,\"say \"\"hi\"\"\"\nh3,\"two\r\nlines\"\nh4,\"\"\n";
        assert_eq!(
            fields(text),
            [
                ["id", "contact"],
                ["h1", "女儿 王敏, 139"],
                ["h2", "say \"hi\""],
                ["h3", "two\r\nlines"],
                ["h4", ""],
            ]
        );
    }

    #[test]
    fn rows_are_numbered_as_a_spreadsheet_does_and_lines_as_an_editor_does() {
        let got = records("a\n\"x\ny\"\n\n,\nb").unwrap();
        let numbers: Vec<(usize, usize)> = got.iter().map(|r| (r.row, r.line)).collect();
        assert_eq!(numbers, [(1, 1), (2, 2), (3, 4), (4, 5), (5, 6)]);
        let blank: Vec<bool> = got.iter().map(Record::is_blank).collect();
        assert_eq!(blank, [false, false, true, true, false]);
    }

    #[test]
    fn a_byte_order_mark_is_skipped_and_other_encodings_are_refused() {
        let got = read(b"\xEF\xBB\xBFid,name\n").unwrap();
        assert_eq!(got[0].fields, ["id", "name"]);
        // 幸福 in GBK.
        let err = read(b"id,name\nh1,\xD0\xD2\xB8\xA3\n").unwrap_err();
        assert_eq!(err.row, None);
        assert!(
            err.message
                .starts_with("the file is not UTF-8 text: line 2 holds bytes that are not UTF-8"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_quote_inside_an_unquoted_field_is_refused() {
        let err = refused("a,b\n1,2 \"x\"\n");
        assert_eq!(err.row, Some(2));
        assert!(
            err.message
                .starts_with("field 2 (line 2) holds a quote but does not start with one"),
            "{}",
            err.message
        );
        // A space before the opening quote makes the field unquoted.
        assert_eq!(refused("a, \"b\"").row, Some(1));
    }

    #[test]
    fn text_after_a_closing_quote_is_refused() {
        let err = refused("a\n\"x\ny\"z,1\n");
        assert_eq!(err.row, Some(2));
        assert!(
            err.message
                .starts_with("field 1 (line 3) goes on with `z` after its closing quote"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_quote_that_never_closes_is_refused_naming_where_it_opened() {
        let err = refused("a,b\n1,2\n3,\"four\n5,6\n");
        assert_eq!(err.row, Some(3));
        assert_eq!(
            err.message,
            "field 2 opens a quote on line 3 that is never closed"
        );
    }
}
