//! The text inside an attachment, for the content check: Word documents
//! (`.docx`, the office format the townships send) are read here — a ZIP
//! archive whose `word/document.xml` holds the paragraphs. Bounded: an
//! archive entry that would inflate past [`MAX_TEXT_XML`] is refused (a zip
//! bomb gets nowhere), and nothing is written anywhere.
//!
//! PDF is not read: the text of a Chinese PDF sits behind per-font CMaps
//! that take a PDF engine to undo, and no crate here does that well.

use std::io::Read;

/// The most bytes `word/document.xml` may inflate to.
pub const MAX_TEXT_XML: u64 = 32 * 1024 * 1024;

/// Whether an attachment is one this module reads, by its name or type.
pub fn readable(file_name: &str, content_type: &str) -> bool {
    file_name.to_ascii_lowercase().ends_with(".docx") || content_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize)
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
}

/// The bytes of the archive entry `name`, inflated (stored or deflated).
fn zip_entry(zip: &[u8], name: &str) -> Result<Vec<u8>, String> {
    const END: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const CENTRAL: [u8; 4] = [0x50, 0x4b, 0x01, 0x02];
    const LOCAL: [u8; 4] = [0x50, 0x4b, 0x03, 0x04];
    let bad = || "not a Word document (its ZIP structure is damaged)".to_string();
    // The end record is in the last 64 KB + 22 bytes (after an archive comment).
    let from = zip.len().saturating_sub(65_557);
    let end = (from..zip.len().saturating_sub(21)).rev().find(|&i| zip[i..i + 4] == END).ok_or_else(bad)?;
    let entries = u16_at(zip, end + 10).ok_or_else(bad)?;
    let mut at = u32_at(zip, end + 16).ok_or_else(bad)?;
    for _ in 0..entries {
        if zip.get(at..at + 4) != Some(&CENTRAL[..]) {
            return Err(bad());
        }
        let method = u16_at(zip, at + 10).ok_or_else(bad)?;
        let compressed = u32_at(zip, at + 20).ok_or_else(bad)?;
        let (name_len, extra_len, comment_len) =
            (u16_at(zip, at + 28).ok_or_else(bad)?, u16_at(zip, at + 30).ok_or_else(bad)?, u16_at(zip, at + 32).ok_or_else(bad)?);
        let local = u32_at(zip, at + 42).ok_or_else(bad)?;
        let entry_name = zip.get(at + 46..at + 46 + name_len).ok_or_else(bad)?;
        at += 46 + name_len + extra_len + comment_len;
        if entry_name != name.as_bytes() {
            continue;
        }
        if zip.get(local..local + 4) != Some(&LOCAL[..]) {
            return Err(bad());
        }
        let data = local + 30 + u16_at(zip, local + 26).ok_or_else(bad)? + u16_at(zip, local + 28).ok_or_else(bad)?;
        let raw = zip.get(data..data + compressed).ok_or_else(bad)?;
        let mut out = Vec::new();
        match method {
            0 => out.extend_from_slice(&raw[..raw.len().min(MAX_TEXT_XML as usize)]),
            8 => {
                flate2::read::DeflateDecoder::new(raw).take(MAX_TEXT_XML + 1).read_to_end(&mut out).map_err(|_| bad())?;
            }
            m => return Err(format!("a Word document compressed in a way not read here (method {m})")),
        }
        if out.len() as u64 > MAX_TEXT_XML {
            return Err(format!("its text is larger than {} MB; not read", MAX_TEXT_XML / 1024 / 1024));
        }
        return Ok(out);
    }
    Err("not a Word document (no word/document.xml inside)".to_string())
}

/// The text of a `.docx`: its paragraphs, one a line, as a reader sees them.
pub fn docx_text(bytes: &[u8]) -> Result<String, String> {
    let xml = zip_entry(bytes, "word/document.xml")?;
    let xml = String::from_utf8(xml).map_err(|_| "its text is not UTF-8".to_string())?;
    let doc = roxmltree::Document::parse(&xml).map_err(|e| format!("its text cannot be read: {e}"))?;
    let mut out = String::new();
    for node in doc.descendants() {
        match node.tag_name().name() {
            "p" if node.is_element() && !out.is_empty() => out.push('\n'),
            "t" if node.is_element() => out.push_str(node.text().unwrap_or("")),
            "tab" if node.is_element() => out.push('\t'),
            "br" if node.is_element() => out.push('\n'),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real .docx, written by Python's zipfile (tests/fixtures/make-docx.py).
    const FIXTURE: &[u8] = include_bytes!("../../../tests/fixtures/dibao-roster.docx");

    #[test]
    fn the_paragraphs_of_a_word_document_are_read_in_order() {
        let text = docx_text(FIXTURE).unwrap();
        assert_eq!(text, "关于低保人员名单的公示\n张三，身份证号11010519491231002X。\n联系电话：13904121234");
    }

    #[test]
    fn what_is_not_a_word_document_is_refused_with_a_reason() {
        assert!(docx_text(b"%PDF-1.4 not a zip").unwrap_err().contains("not a Word document"));
        let mut cut = FIXTURE.to_vec();
        cut.truncate(FIXTURE.len() / 2);
        assert!(docx_text(&cut).is_err());
        assert!(readable("名单.DOCX", "application/octet-stream") && !readable("名单.pdf", "application/pdf"));
    }
}
