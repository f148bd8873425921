//! A table as shown: column headers and the cells' text exactly as the
//! page prints them. The page and its CSV and Excel exports are drawn from
//! the same [`Table`], so an export cannot differ from what was read.

/// One column.
pub struct Column {
    pub label: String,
    /// Stable key: `data-col` in the page, `?sort=` when sortable.
    pub key: &'static str,
    pub numeric: bool,
    pub sortable: bool,
}

impl Column {
    pub fn text(label: String, key: &'static str) -> Column {
        Column {
            label,
            key,
            numeric: false,
            sortable: false,
        }
    }

    pub fn number(label: String, key: &'static str) -> Column {
        Column {
            label,
            key,
            numeric: true,
            sortable: false,
        }
    }

    pub fn sortable(mut self) -> Column {
        self.sortable = true;
        self
    }
}

/// One cell: its text, and where it links to.
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            href: None,
        }
    }

    pub fn link(text: impl Into<String>, href: String) -> Cell {
        Cell {
            text: text.into(),
            href: Some(href),
        }
    }
}

/// One row; `key` identifies it in the page (`data-row`), `bar` is an
/// inline SVG drawn beside the figures (not exported).
pub struct Row {
    pub key: String,
    pub cells: Vec<Cell>,
    pub bar: Option<String>,
}

/// The order asked for by `?sort=KEY&dir=asc|desc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    pub key: String,
    pub desc: bool,
}

impl Sort {
    /// The order in the query, or `default` when none (or an unknown
    /// column) is asked for.
    pub fn from_query(
        key: Option<&str>,
        dir: Option<&str>,
        allowed: &[&str],
        default: Sort,
    ) -> Sort {
        match key.filter(|k| allowed.contains(k)) {
            Some(k) => Sort {
                key: k.to_string(),
                desc: dir == Some("desc"),
            },
            None => default,
        }
    }
}

pub struct Table {
    pub id: &'static str,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    /// Header of the bar column, when rows carry bars.
    pub bar_label: Option<String>,
    pub sort: Option<Sort>,
    /// The page's address up to its query's end, ending in `?` or `&`: sort
    /// and export links are made by appending to it.
    pub base: String,
}

impl Table {
    /// The header link that sorts by `key` (the other way round when the
    /// table is already sorted by it).
    pub fn sort_href(&self, key: &str) -> String {
        let desc = match &self.sort {
            Some(s) if s.key == key => !s.desc,
            // Figures read best largest first, names A to Z.
            _ => key != "name" && key != "code",
        };
        let dir = if desc { "desc" } else { "asc" };
        format!("{}sort={key}&dir={dir}#{}", self.base, self.id)
    }

    /// `aria-sort` of a column header.
    pub fn aria_sort(&self, key: &str) -> &'static str {
        match &self.sort {
            Some(s) if s.key == key && s.desc => "descending",
            Some(s) if s.key == key => "ascending",
            _ => "none",
        }
    }

    /// The export link for `format` (`csv`, `xlsx`), in the current order.
    pub fn export_href(&self, format: &str) -> String {
        let mut href = format!("{}format={format}", self.base);
        if let Some(s) = &self.sort {
            let dir = if s.desc { "desc" } else { "asc" };
            href.push_str(&format!("&sort={}&dir={dir}", s.key));
        }
        href
    }

    /// The text of the header cells.
    pub fn header(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.label.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(sort: Option<Sort>) -> Table {
        Table {
            id: "areas",
            columns: vec![Column::text("Name".into(), "name").sortable()],
            rows: Vec::new(),
            bar_label: None,
            sort,
            base: "/area?code=33.72&".into(),
        }
    }

    #[test]
    fn a_sorted_column_links_to_the_other_direction() {
        let t = table(Some(Sort {
            key: "gap".into(),
            desc: true,
        }));
        assert_eq!(
            t.sort_href("gap"),
            "/area?code=33.72&sort=gap&dir=asc#areas"
        );
        assert_eq!(
            t.sort_href("name"),
            "/area?code=33.72&sort=name&dir=asc#areas"
        );
        assert_eq!(
            t.sort_href("covered"),
            "/area?code=33.72&sort=covered&dir=desc#areas"
        );
        assert_eq!(
            t.export_href("csv"),
            "/area?code=33.72&format=csv&sort=gap&dir=desc"
        );
    }

    #[test]
    fn unknown_sort_keys_fall_back_to_the_default() {
        let d = Sort {
            key: "gap".into(),
            desc: true,
        };
        let s = Sort::from_query(Some("drop table"), Some("asc"), &["name"], d.clone());
        assert_eq!(s, d);
        let s = Sort::from_query(Some("name"), Some("asc"), &["name"], d);
        assert_eq!(s.key, "name");
        assert!(!s.desc);
    }
}
