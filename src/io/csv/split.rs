//! Where records end: a CSV file is cut into partitions only after a newline that ends a
//! record, never inside a quoted field that holds one. Quoting follows the same rules as
//! the decoder (csv-core, under arrow-csv): a quote opens a quoted field only at the start of
//! a field, a doubled quote inside one is a literal quote, and an escape byte (when set)
//! makes the next byte literal. The state carries across the chunks a file is read in, and
//! between wanted ends only quote bytes are looked at, so a file without quotes is scanned
//! at `memchr` speed.

/// The bytes that decide where quoted fields begin and end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Dialect {
    pub delimiter: u8,
    pub quote: u8,
    pub escape: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: a literal one if another follows, else the field's end.
    QuoteInQuoted,
    /// The escape byte inside a quoted field: the next byte is literal.
    EscapeInQuoted,
}

/// A scan of one file from its first byte.
pub(crate) struct Splitter {
    dialect: Dialect,
    state: State,
    /// The byte before the next one fed (a newline at the file's start: a field starts).
    prev: u8,
    /// Bytes fed so far.
    pos: u64,
}

impl Splitter {
    pub(crate) fn new(dialect: Dialect) -> Self {
        Splitter {
            dialect,
            state: State::Unquoted,
            prev: b'\n',
            pos: 0,
        }
    }

    /// Whether the bytes fed so far end inside a quoted field.
    pub(crate) fn in_quotes(&self) -> bool {
        self.state != State::Unquoted
    }

    /// Scans the next bytes of the file. Record ends (the offset just after a newline that
    /// is not inside quotes) at or after `*want` are passed to `found`, which returns the
    /// next offset wanted (`u64::MAX`: none).
    pub(crate) fn feed(
        &mut self,
        chunk: &[u8],
        want: &mut u64,
        found: &mut impl FnMut(u64) -> u64,
    ) {
        let base = self.pos;
        let Dialect {
            delimiter,
            quote,
            escape,
        } = self.dialect;
        let mut i = 0;
        while i < chunk.len() {
            match self.state {
                State::Unquoted => {
                    // A newline at index j ends a record at j + 1: before `want - 1`, only
                    // quotes matter.
                    let first_newline = want.saturating_sub(1).saturating_sub(base);
                    let hit = if (i as u64) < first_newline {
                        let stop = first_newline.min(chunk.len() as u64) as usize;
                        match memchr::memchr(quote, &chunk[i..stop]) {
                            Some(k) => i + k,
                            None => {
                                self.prev = chunk[stop - 1];
                                i = stop;
                                continue;
                            }
                        }
                    } else {
                        match memchr::memchr2(quote, b'\n', &chunk[i..]) {
                            Some(k) => i + k,
                            None => {
                                self.prev = chunk[chunk.len() - 1];
                                i = chunk.len();
                                continue;
                            }
                        }
                    };
                    let before = if hit > 0 { chunk[hit - 1] } else { self.prev };
                    let b = chunk[hit];
                    if b == b'\n' {
                        *want = found(base + hit as u64 + 1);
                    } else if before == delimiter || before == b'\n' || before == b'\r' {
                        self.state = State::Quoted;
                    }
                    self.prev = b;
                    i = hit + 1;
                }
                State::Quoted => {
                    let rest = &chunk[i..];
                    let hit = match escape {
                        Some(e) => memchr::memchr2(quote, e, rest),
                        None => memchr::memchr(quote, rest),
                    };
                    match hit {
                        None => i = chunk.len(),
                        Some(k) => {
                            self.state = if rest[k] == quote {
                                State::QuoteInQuoted
                            } else {
                                State::EscapeInQuoted
                            };
                            i += k + 1;
                        }
                    }
                }
                State::QuoteInQuoted => {
                    if chunk[i] == quote {
                        self.state = State::Quoted;
                        i += 1;
                    } else {
                        // The field's end: this byte is read as unquoted.
                        self.state = State::Unquoted;
                        self.prev = quote;
                    }
                }
                State::EscapeInQuoted => {
                    self.state = State::Quoted;
                    i += 1;
                }
            }
        }
        self.pos += chunk.len() as u64;
    }
}

/// Every record end in `bytes` (a whole number of records, from a record's start), for the
/// error path: finding which record a decoder refused.
pub(crate) fn record_ends(bytes: &[u8], dialect: Dialect) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut want = 0u64;
    let mut s = Splitter::new(dialect);
    s.feed(bytes, &mut want, &mut |end| {
        ends.push(end as usize);
        0
    });
    if ends.last().is_none_or(|&e| e < bytes.len()) {
        ends.push(bytes.len());
    }
    ends
}

/// The number of fields of one record (error messages).
pub(crate) fn count_fields(record: &[u8], dialect: Dialect) -> usize {
    let record = record.strip_suffix(b"\n").unwrap_or(record);
    let record = record.strip_suffix(b"\r").unwrap_or(record);
    let mut fields = 1;
    let mut quoted = false;
    let mut at_start = true;
    let mut i = 0;
    while i < record.len() {
        let b = record[i];
        if quoted {
            if Some(b) == dialect.escape {
                i += 1;
            } else if b == dialect.quote {
                if record.get(i + 1) == Some(&dialect.quote) {
                    i += 1;
                } else {
                    quoted = false;
                }
            }
        } else if b == dialect.delimiter {
            fields += 1;
            at_start = true;
            i += 1;
            continue;
        } else if b == dialect.quote && at_start {
            quoted = true;
        }
        at_start = false;
        i += 1;
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: Dialect = Dialect {
        delimiter: b',',
        quote: b'"',
        escape: None,
    };

    /// Record ends by a byte-at-a-time reading of the same rules.
    fn naive_ends(bytes: &[u8], d: Dialect) -> Vec<usize> {
        let mut ends = Vec::new();
        let (mut quoted, mut start) = (false, true);
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if quoted {
                if Some(b) == d.escape {
                    i += 1;
                } else if b == d.quote {
                    if bytes.get(i + 1) == Some(&d.quote) {
                        i += 1;
                    } else {
                        quoted = false;
                    }
                }
            } else if b == b'\n' {
                ends.push(i + 1);
                start = true;
                i += 1;
                continue;
            } else if b == d.quote && start {
                quoted = true;
            }
            start = b == d.delimiter || b == b'\r';
            i += 1;
        }
        ends
    }

    fn scan_in_chunks(bytes: &[u8], d: Dialect, chunk: usize, every: u64) -> Vec<usize> {
        let mut ends = Vec::new();
        let mut want = every;
        let mut s = Splitter::new(d);
        for c in bytes.chunks(chunk) {
            s.feed(c, &mut want, &mut |end| {
                ends.push(end as usize);
                end + every
            });
        }
        ends
    }

    #[test]
    fn quoted_newlines_doubled_quotes_and_literal_quotes_do_not_end_records() {
        let text = b"a,b\n\"x\ny\",1\n\"he said \"\"hi\n\"\"\",2\nab\"c,\"d\n\"\n\"\",3\n";
        let want = naive_ends(text, CSV);
        assert_eq!(want, vec![4, 12, 32, 42, 47]);
        assert_eq!(record_ends(text, CSV), want);
        // Fed a byte at a time (state carried over every possible cut) and in other chunks.
        for chunk in [1, 2, 3, 5, 7, 64] {
            assert_eq!(scan_in_chunks(text, CSV, chunk, 0), want, "chunk {chunk}");
        }
    }

    #[test]
    fn wanted_ends_are_the_first_record_ends_at_or_after_each_target() {
        // Deterministic pseudo-random CSV with quotes, escapes and newlines in fields.
        let mut x = 0x2545F4914F6CDD1Du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for escape in [None, Some(b'\\')] {
            let d = Dialect { escape, ..CSV };
            let alphabet = b"ab,\n\"\\\r";
            let text: Vec<u8> = (0..20_000)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let all = naive_ends(&text, d);
            for every in [1u64, 17, 400] {
                // Expected: after each end e, the first end >= e + every.
                let mut expected = Vec::new();
                let mut target = every;
                for &e in &all {
                    if e as u64 >= target {
                        expected.push(e);
                        target = e as u64 + every;
                    }
                }
                for chunk in [1, 13, 4096] {
                    assert_eq!(
                        scan_in_chunks(&text, d, chunk, every),
                        expected,
                        "escape {escape:?} every {every} chunk {chunk}"
                    );
                }
            }
        }
    }

    #[test]
    fn fields_are_counted_outside_quotes() {
        assert_eq!(count_fields(b"1,2,3\n", CSV), 3);
        assert_eq!(count_fields(b"\"a,b\",2\r\n", CSV), 2);
        assert_eq!(count_fields(b"\"a\"\",b\",2", CSV), 2);
        assert_eq!(count_fields(b"a\"b,c", CSV), 2);
        assert_eq!(count_fields(b"", CSV), 1);
    }
}
