//! Pages checked before the `parquet` crate's column readers see them. Those readers trust
//! page headers: a dictionary page claiming 2^31 values makes them allocate and zero that
//! many values whatever the page holds (16 GiB of doubles from a 17 KB file), and a
//! dictionary-encoded data page with no dictionary before it is an assertion, not an
//! error. Both were found by `fuzz/fuzz_targets/parquet.rs`. A damaged file must be an
//! error naming it, never an allocation the file cannot justify.

use parquet::basic::{Encoding, Type as PhysicalType};
use parquet::column::page::{Page, PageMetadata, PageReader};
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::reader::ChunkReader;
use parquet::file::serialized_reader::SerializedPageReader;
use std::sync::Arc;

/// The fewest bytes a dictionary value of `physical` type takes in a PLAIN dictionary page
/// (`type_length` for fixed-length byte arrays; a byte array's length prefix); `None` for
/// booleans, which have no dictionary pages.
pub(crate) fn min_value_bytes(physical: PhysicalType, type_length: i32) -> Option<usize> {
    match physical {
        PhysicalType::BOOLEAN => None,
        PhysicalType::INT32 | PhysicalType::FLOAT | PhysicalType::BYTE_ARRAY => Some(4),
        PhysicalType::INT64 | PhysicalType::DOUBLE => Some(8),
        PhysicalType::INT96 => Some(12),
        PhysicalType::FIXED_LEN_BYTE_ARRAY => Some(type_length.max(1) as usize),
    }
}

/// An error when `page` is a dictionary page holding fewer bytes than its values need.
fn check_dictionary(page: &Page, value_bytes: usize) -> Result<()> {
    if let Page::DictionaryPage {
        buf, num_values, ..
    } = page
    {
        let needs = (*num_values as usize).saturating_mul(value_bytes);
        if needs > buf.len() {
            return Err(ParquetError::General(format!(
                "a dictionary page claims {num_values} values in {} bytes",
                buf.len()
            )));
        }
    }
    Ok(())
}

fn dictionary_encoded(page: &Page) -> bool {
    match page {
        Page::DataPage { encoding, .. } | Page::DataPageV2 { encoding, .. } => matches!(
            encoding,
            Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY
        ),
        Page::DictionaryPage { .. } => false,
    }
}

/// A page reader passing on only pages the column readers can take safely (see the module
/// documentation).
pub(crate) struct CheckedPages<P> {
    inner: P,
    value_bytes: Option<usize>,
    /// Whether a dictionary page has been passed on (or is waiting in `deferred`).
    dictionary: bool,
    /// A dictionary page the inner reader skipped and gave back, checked, for the column
    /// reader to take.
    deferred: Option<Page>,
}

impl<P: PageReader> CheckedPages<P> {
    pub(crate) fn new(inner: P, value_bytes: Option<usize>) -> Self {
        CheckedPages {
            inner,
            value_bytes,
            dictionary: false,
            deferred: None,
        }
    }

    fn check(&mut self, page: &Page) -> Result<()> {
        if let Some(bytes) = self.value_bytes {
            check_dictionary(page, bytes)?;
        }
        if matches!(page, Page::DictionaryPage { .. }) {
            self.dictionary = true;
        } else if dictionary_encoded(page) && !self.dictionary {
            // The inner reader may have skipped the dictionary page along with skipped rows.
            let skipped = match self.inner.supports_deferred_dictionary() {
                true => self.inner.take_deferred_dictionary()?,
                false => None,
            };
            let Some(dictionary) = skipped else {
                return Err(ParquetError::General(
                    "a dictionary-encoded data page with no dictionary page before it".into(),
                ));
            };
            self.check(&dictionary)?;
            self.deferred = Some(dictionary);
        }
        Ok(())
    }
}

impl<P: PageReader> Iterator for CheckedPages<P> {
    type Item = Result<Page>;

    fn next(&mut self) -> Option<Self::Item> {
        self.get_next_page().transpose()
    }
}

impl<P: PageReader> PageReader for CheckedPages<P> {
    fn get_next_page(&mut self) -> Result<Option<Page>> {
        let page = self.inner.get_next_page()?;
        if let Some(p) = &page {
            self.check(p)?;
        }
        Ok(page)
    }

    fn peek_next_page(&mut self) -> Result<Option<PageMetadata>> {
        self.inner.peek_next_page()
    }

    fn skip_next_page(&mut self) -> Result<()> {
        self.inner.skip_next_page()
    }

    fn supports_deferred_dictionary(&self) -> bool {
        self.inner.supports_deferred_dictionary()
    }

    fn take_deferred_dictionary(&mut self) -> Result<Option<Page>> {
        match self.deferred.take() {
            Some(d) => Ok(Some(d)),
            None => {
                let d = self.inner.take_deferred_dictionary()?;
                if let Some(page) = &d {
                    self.check(page)?;
                }
                Ok(d)
            }
        }
    }

    fn at_record_boundary(&mut self) -> Result<bool> {
        self.inner.at_record_boundary()
    }
}

/// Checks the dictionary page of `chunk` (whose bytes `reader` serves) before another
/// reader — the crate's Arrow reader, which takes no page reader of ours — decodes it:
/// reads and decompresses that one page. Chunks without a dictionary pass unread.
pub(crate) fn check_chunk_dictionary<R: ChunkReader + 'static>(
    reader: Arc<R>,
    chunk: &ColumnChunkMetaData,
    rows: usize,
) -> Result<()> {
    let descr = chunk.column_descr();
    let value_bytes = min_value_bytes(descr.physical_type(), descr.type_length());
    if chunk.dictionary_page_offset().is_none() || value_bytes.is_none() {
        return Ok(());
    }
    let pages = SerializedPageReader::new(reader, chunk, rows, None)?;
    let mut checked = CheckedPages::new(pages, value_bytes);
    checked.get_next_page().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn dictionary_page(bytes: usize, values: u32) -> Page {
        Page::DictionaryPage {
            buf: Bytes::from(vec![0u8; bytes]),
            num_values: values,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        }
    }

    /// Pages from a list, as the crate's readers would get them.
    struct Listed(std::vec::IntoIter<Page>);

    impl Iterator for Listed {
        type Item = Result<Page>;
        fn next(&mut self) -> Option<Self::Item> {
            self.0.next().map(Ok)
        }
    }

    impl PageReader for Listed {
        fn get_next_page(&mut self) -> Result<Option<Page>> {
            Ok(self.0.next())
        }
        fn peek_next_page(&mut self) -> Result<Option<PageMetadata>> {
            Ok(None)
        }
        fn skip_next_page(&mut self) -> Result<()> {
            self.0.next();
            Ok(())
        }
    }

    fn data_page(encoding: Encoding) -> Page {
        Page::DataPage {
            buf: Bytes::from_static(&[0; 16]),
            num_values: 4,
            encoding,
            def_level_encoding: Encoding::RLE,
            rep_level_encoding: Encoding::RLE,
            statistics: None,
        }
    }

    fn read_all(pages: Vec<Page>, value_bytes: usize) -> Result<usize> {
        let mut checked = CheckedPages::new(Listed(pages.into_iter()), Some(value_bytes));
        let mut n = 0;
        while checked.get_next_page()?.is_some() {
            n += 1;
        }
        Ok(n)
    }

    #[test]
    fn a_dictionary_claiming_more_values_than_its_bytes_hold_is_refused() {
        assert_eq!(read_all(vec![dictionary_page(80, 10)], 8).unwrap(), 1);
        let e = read_all(vec![dictionary_page(80, 11)], 8).unwrap_err();
        assert!(
            e.to_string().contains("claims 11 values in 80 bytes"),
            "{e}"
        );
        let e = read_all(vec![dictionary_page(80, u32::MAX)], 8).unwrap_err();
        assert!(e.to_string().contains("dictionary page claims"), "{e}");
    }

    #[test]
    fn a_dictionary_encoded_page_needs_a_dictionary_before_it() {
        let pages = vec![dictionary_page(8, 2), data_page(Encoding::RLE_DICTIONARY)];
        assert_eq!(read_all(pages, 4).unwrap(), 2);
        assert_eq!(read_all(vec![data_page(Encoding::PLAIN)], 4).unwrap(), 1);
        for encoding in [Encoding::RLE_DICTIONARY, Encoding::PLAIN_DICTIONARY] {
            let e = read_all(vec![data_page(encoding)], 4).unwrap_err();
            assert!(
                e.to_string().contains("no dictionary page before it"),
                "{e}"
            );
        }
    }

    #[test]
    fn the_fewest_bytes_per_value_follow_the_physical_type() {
        assert_eq!(min_value_bytes(PhysicalType::DOUBLE, 0), Some(8));
        assert_eq!(min_value_bytes(PhysicalType::INT32, 0), Some(4));
        assert_eq!(
            min_value_bytes(PhysicalType::FIXED_LEN_BYTE_ARRAY, 16),
            Some(16)
        );
        assert_eq!(min_value_bytes(PhysicalType::BOOLEAN, 0), None);
    }
}
