//! The HTML report: one file, no external resource. Charts are inline SVG; flamegraphs are
//! inline too (in `srcdoc` frames, so that their scripts keep working); the markdown
//! reports are rendered to HTML tables.

use pulldown_cmark::{html::push_html, Options, Parser};

/// A titled SVG to embed.
pub struct Figure {
    pub title: String,
    pub svg: String,
}

/// Everything the page shows.
pub struct Page<'a> {
    pub charts: &'a [Figure],
    pub flamegraphs: &'a [Figure],
    pub summary_md: &'a str,
    pub detailed_md: &'a str,
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:1700px;color:#222}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}\
th,td{border:1px solid #ccc;padding:3px 8px;font-size:13px}th{background:#f3f3f3}\
td:not(:first-child){text-align:right}figure{margin:1em 0}figcaption{font-weight:bold}\
iframe{width:100%;height:460px;border:1px solid #ccc}";

impl Page<'_> {
    pub fn render(&self) -> String {
        let mut html =
            String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.push_str("<title>starkscope prof</title>\n<style>");
        html.push_str(STYLE);
        html.push_str("</style>\n</head>\n<body>\n");
        html.push_str("<section id=\"charts\">\n<h1>starkscope prof</h1>\n");
        if self.charts.is_empty() {
            html.push_str("<p>No chartable metrics in this run.</p>\n");
        }
        for f in self.charts {
            html.push_str(&format!(
                "<figure class=\"chart\">\n<figcaption>{}</figcaption>\n",
                escape(&f.title)
            ));
            html.push_str(strip_xml_decl(&f.svg));
            html.push_str("\n</figure>\n");
        }
        html.push_str("</section>\n<section id=\"summary\">\n");
        html.push_str(&markdown_to_html(self.summary_md));
        html.push_str("</section>\n");
        if !self.flamegraphs.is_empty() {
            html.push_str("<section id=\"flamegraphs\">\n<h2>Flamegraphs</h2>\n");
            for f in self.flamegraphs {
                let height = svg_height(&f.svg).map_or(460, |h| h + 24);
                html.push_str(&format!(
                    "<figure class=\"flamegraph\">\n<figcaption>{}</figcaption>\n<iframe title=\"{}\" style=\"height:{height}px\" srcdoc=\"{}\"></iframe>\n</figure>\n",
                    escape(&f.title),
                    escape(&f.title),
                    escape(&f.svg)
                ));
            }
            html.push_str("</section>\n");
        }
        html.push_str("<section id=\"detailed\">\n<details>\n<summary>Detailed tables</summary>\n");
        html.push_str(&markdown_to_html(self.detailed_md));
        html.push_str("</details>\n</section>\n</body>\n</html>\n");
        html
    }
}

fn markdown_to_html(md: &str) -> String {
    let mut out = String::new();
    push_html(&mut out, Parser::new_ext(md, Options::ENABLE_TABLES));
    out
}

/// An `<svg>` for inline use: the XML declaration is not allowed mid-document.
fn strip_xml_decl(svg: &str) -> &str {
    let s = svg.trim_start();
    if s.starts_with("<?xml") {
        s.find("?>").map_or(s, |i| s[i + 2..].trim_start())
    } else {
        s
    }
}

/// The pixel height of an `<svg ... height="N" ...>` root element.
fn svg_height(svg: &str) -> Option<u32> {
    let start = svg.find("<svg")?;
    let tag = &svg[start..start + svg[start..].find('>')?];
    let rest = &tag[tag.find(" height=\"")? + 9..];
    rest[..rest.find('"')?].trim_end_matches("px").parse().ok()
}

/// Escapes text for HTML content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
