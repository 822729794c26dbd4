//! Rich text in: sanitized (ammonia), and bounded before it is.
//!
//! The HTML parser behind ammonia (html5ever) follows the browsers'
//! algorithm, and that algorithm is quadratic on some inputs an editor can
//! type or paste: deeply nested blocks (`<div>` × 100,000 took ~160 s),
//! and formatting elements left open across paragraphs, which the parser
//! re-opens in every later paragraph (`<p><b id=1></p>` repeated 4,000
//! times, 70 KB, took 28 s and came out as 56 MB). No real document looks
//! like that.
//!
//! So every body is first parsed into a sink that keeps nothing but two
//! numbers — how many elements are open (the parser's stack) and how many
//! it has created — fed a few kilobytes at a time and stopped as soon as
//! either passes its bound. Only a body within bounds reaches ammonia.
//! Within the bounds each token costs at most a bounded number of steps, so
//! a body of the 2 MiB the API accepts is cleaned in well under a second;
//! the caller still runs this off the async workers (`heavy::Pool`).

use std::borrow::Cow;
use std::cell::Cell;
use std::rc::Rc;

use html5ever::interface::{Attribute, ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{QualName, local_name, ns};
use zhanqun_model::Rejection;

/// Elements open inside each other at most. Word and WPS documents stay
/// below 30; the bound is what keeps the parser's scope checks short.
pub const MAX_NESTING: usize = 200;

/// Elements the parser may create: two per tag of the input and this many
/// more. Implied ones (`tbody`) and a formatting element re-opened now and
/// then are normal; a formatting element re-opened in every paragraph is
/// how an input of 70 KB became 56 MB.
const CREATED_ALLOWANCE: usize = 1_000;

/// Looks at element names the parser may take per tag of the input (real
/// documents take 4 to 10), and this many more: the bound on its work,
/// whatever shape of input would make that work grow faster than the input.
const LOOKS_PER_TAG: usize = 40;
const LOOKS_ALLOWANCE: usize = 100_000;

/// Elements in one body at most, whatever the input.
pub const MAX_ELEMENTS: usize = 200_000;

/// Input is fed to the counting parse in pieces of this size, and the
/// bounds are checked between pieces.
const PIECE: usize = 4 * 1024;

/// Strips scripts, event handlers, styles and anything else unsafe from
/// rich text, after checking that its shape is within bounds.
pub fn body_html(html: &str) -> Result<String, Rejection> {
    check_shape(html)?;
    Ok(ammonia::clean(html))
}

/// Refuses HTML that would make the parser do more than linear work.
pub fn check_shape(html: &str) -> Result<(), Rejection> {
    // Each element needs a `<` in the input; more than that many (plus an
    // allowance) means the parser is multiplying elements.
    let tags = memchr_count(html.as_bytes(), b'<');
    if tags > MAX_ELEMENTS {
        return Err(Rejection::invalid("html_too_complex", format!("the text has more than {MAX_ELEMENTS} HTML tags; split it into several documents")));
    }
    let created_limit = (2 * tags + CREATED_ALLOWANCE).min(MAX_ELEMENTS);
    let looks_limit = LOOKS_PER_TAG * tags + LOOKS_ALLOWANCE;
    let sink = Counter { deepest: Cell::new(0), created: Cell::new(0), looks: Cell::new(0), document: Node::new(QualName::new(None, ns!(), local_name!(""))) };
    let mut parser = html5ever::driver::parse_fragment(sink, Default::default(), QualName::new(None, ns!(html), local_name!("div")), vec![], false);
    let mut rest = html;
    while !rest.is_empty() {
        let mut cut = rest.len().min(PIECE);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        parser.process(StrTendril::from_slice(&rest[..cut]));
        rest = &rest[cut..];
        let sink = &parser.tokenizer.sink.sink;
        if sink.deepest.get() > MAX_NESTING {
            return Err(Rejection::invalid(
                "html_too_deep",
                format!(
                    "the text's HTML nests elements more than {MAX_NESTING} deep (or leaves that many unclosed); paste it as plain paragraphs or close its tags"
                ),
            ));
        }
        if sink.created.get() > created_limit || sink.looks.get() > looks_limit {
            return Err(Rejection::invalid(
                "html_too_complex",
                format!(
                    "the text's HTML would become more than {created_limit} elements (tags left open across paragraphs are re-opened in every one); close its tags or paste it as plain text"
                ),
            ));
        }
    }
    Ok(())
}

fn memchr_count(haystack: &[u8], needle: u8) -> usize {
    haystack.iter().filter(|b| **b == needle).count()
}

/// A node of the counting parse: only its name, which the parser asks for.
struct Node {
    name: QualName,
    template: Option<Rc<Node>>,
    /// How deep in the tree, once inserted.
    depth: Cell<usize>,
}

impl Node {
    fn new(name: QualName) -> Rc<Node> {
        Rc::new(Node { name, template: None, depth: Cell::new(0) })
    }
}

/// A tree sink that builds no tree: it counts elements created and elements
/// still open (created and not yet popped off the parser's stack).
struct Counter {
    /// The deepest element inserted so far.
    deepest: Cell<usize>,
    created: Cell<usize>,
    /// Every look the parser takes at an element's name: its scans of the
    /// open elements and of the formatting list, i.e. its work.
    looks: Cell<usize>,
    document: Rc<Node>,
}

impl Counter {
    fn place(&self, child: &NodeOrText<Rc<Node>>, depth: usize) {
        if let NodeOrText::AppendNode(node) = child {
            node.depth.set(depth);
            self.deepest.set(self.deepest.get().max(depth));
        }
    }
}

impl TreeSink for Counter {
    type Handle = Rc<Node>;
    type Output = ();
    type ElemName<'a> = &'a QualName;

    fn finish(self) {}

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> Rc<Node> {
        self.document.clone()
    }

    fn elem_name<'a>(&'a self, target: &'a Rc<Node>) -> &'a QualName {
        self.looks.set(self.looks.get() + 1);
        &target.name
    }

    fn create_element(&self, name: QualName, _attrs: Vec<Attribute>, flags: ElementFlags) -> Rc<Node> {
        self.created.set(self.created.get() + 1);
        let template = flags.template.then(|| Node::new(QualName::new(None, ns!(), local_name!(""))));
        Rc::new(Node { name, template, depth: Cell::new(0) })
    }

    fn create_comment(&self, _text: StrTendril) -> Rc<Node> {
        Node::new(QualName::new(None, ns!(), local_name!("")))
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> Rc<Node> {
        Node::new(QualName::new(None, ns!(), local_name!("")))
    }

    fn append(&self, parent: &Rc<Node>, child: NodeOrText<Rc<Node>>) {
        self.place(&child, parent.depth.get() + 1);
    }

    fn append_based_on_parent_node(&self, element: &Rc<Node>, prev_element: &Rc<Node>, child: NodeOrText<Rc<Node>>) {
        self.place(&child, element.depth.get().max(prev_element.depth.get() + 1));
    }

    fn append_doctype_to_document(&self, _name: StrTendril, _public_id: StrTendril, _system_id: StrTendril) {}

    fn get_template_contents(&self, target: &Rc<Node>) -> Rc<Node> {
        target.template.clone().unwrap_or_else(|| target.clone())
    }

    fn same_node(&self, x: &Rc<Node>, y: &Rc<Node>) -> bool {
        Rc::ptr_eq(x, y)
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &Rc<Node>, new_node: NodeOrText<Rc<Node>>) {
        self.place(&new_node, sibling.depth.get());
    }

    fn add_attrs_if_missing(&self, _target: &Rc<Node>, _attrs: Vec<Attribute>) {}

    fn remove_from_parent(&self, _target: &Rc<Node>) {}

    fn reparent_children(&self, _node: &Rc<Node>, _new_parent: &Rc<Node>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs of the shapes that make the parser quadratic, each small
    /// enough to type but far past the bounds.
    fn hostile() -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = [
            ("div", "<div>"),
            ("list items", "<ul><li>"),
            ("definition lists", "<dl><dt>"),
            ("blockquotes", "<blockquote>"),
            ("sections", "<section>"),
            ("bold around divs", "<b><div>"),
            ("formatting before a stray </p>", "<b><i><u></p>"),
            ("bold with a stray </div>", "<b></div>"),
            ("centre", "<center>"),
            ("ordered lists", "<ol><li>"),
        ]
        .iter()
        .map(|(name, unit)| (*name, unit.repeat(20_000)))
        .collect();
        out.push(("formatting re-opened in every paragraph", (0..4_000).map(|i| format!("<p><b id={i}></p>")).collect()));
        out.push(("bold re-opened after every block", (0..4_000).map(|i| format!("<div><b class=c{i}></div>x")).collect()));
        out
    }

    #[test]
    fn html_that_would_make_the_parser_quadratic_is_refused_before_parsing_it_whole() {
        for (name, html) in hostile() {
            let err = body_html(&html).expect_err(name);
            assert!(matches!(err.code.as_str(), "html_too_deep" | "html_too_complex"), "{name}: {}", err.code);
        }
    }

    #[test]
    fn ordinary_documents_pass_and_are_sanitized() {
        let paragraphs = "<p>各村（社区）：<b>请做好</b>冬季供暖保障工作，<a href=\"/a\">详见附件</a>。</p>".repeat(5_000);
        let table = format!("<table><tbody>{}</tbody></table>", "<tr><td>牛庄镇</td><td><span style=\"mso-x\">120</span></td></tr>".repeat(3_000));
        let sloppy = "<ul>".to_string() + &"<li>未闭合的列表项".repeat(3_000) + "</ul>" + &"<p>未闭合的段落".repeat(3_000);
        let nested_lists = "<ul><li>一级".repeat(20) + &"</li></ul>".repeat(20);
        let links = (0..4_000).map(|i| format!("<div><a href=#{i}></div>x")).collect::<String>();
        let cases = [("paragraphs", paragraphs), ("table", table), ("unclosed li and p", sloppy), ("lists 20 deep", nested_lists), ("unclosed links", links)];
        for (name, html) in cases {
            let clean = body_html(&html).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!clean.is_empty(), "{name}");
        }
        assert_eq!(body_html("<p onclick=\"x()\">正文<script>alert(1)</script></p>").unwrap(), "<p>正文</p>");
    }
}
