//! Paging of the list endpoints: `?cursor=…&limit=…` in, `{items, next_cursor}` out.
//!
//! A cursor is opaque to clients: base64url of `v1|<list>|<time>|<id>`, the sort key of the
//! last row a page returned, plus the list it belongs to (`requests:pending`, …) so that a
//! cursor is never silently applied to another list. The store continues strictly after that
//! key (keyset paging, see `store::lists`), so pages neither skip nor repeat rows.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyhole_protocol::access::Page;

/// Rows per page when the query gives no `limit`.
pub const DEFAULT_LIMIT: usize = 100;
/// The largest `limit` a query may ask for.
pub const MAX_LIMIT: usize = 500;

/// A parsed `?cursor=…&limit=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// Which list (the cursor must be of this one).
    list: &'static str,
    /// Rows per page, 1–[`MAX_LIMIT`].
    limit: usize,
    /// The last key of the previous page.
    after: Option<(i64, String)>,
}

impl PageQuery {
    /// Parses the query of `list`. The error is a sentence for a 400.
    pub fn parse(
        list: &'static str,
        cursor: Option<&str>,
        limit: Option<&str>,
    ) -> Result<PageQuery, String> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(l) => match l.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(format!(
                        "invalid limit `{l}`: give a whole number from 1 to {MAX_LIMIT}"
                    ));
                }
            },
        };
        let after = match cursor {
            None => None,
            Some(c) => Some(decode(list, c)?),
        };
        Ok(PageQuery { list, limit, after })
    }

    /// The first page of `list` with the default limit.
    pub fn first(list: &'static str) -> PageQuery {
        PageQuery {
            list,
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }

    /// Where the store continues.
    pub fn after(&self) -> Option<(i64, &str)> {
        self.after.as_ref().map(|(t, id)| (*t, id.as_str()))
    }

    /// How many rows to ask the store for: one more than a page, to know if there is more.
    pub fn fetch_limit(&self) -> i64 {
        self.limit as i64 + 1
    }

    /// Cuts the fetched `rows` (at most [`Self::fetch_limit`]) to a page and names the next
    /// one: a cursor at the page's last row when more rows exist, else `None`.
    pub fn cut<R>(
        &self,
        mut rows: Vec<R>,
        key: impl Fn(&R) -> (i64, &str),
    ) -> (Vec<R>, Option<String>) {
        if rows.len() <= self.limit {
            return (rows, None);
        }
        rows.truncate(self.limit);
        let next = rows.last().map(|r| {
            let (t, id) = key(r);
            encode(self.list, t, id)
        });
        (rows, next)
    }

    /// [`Self::cut`], then each row mapped to its API type.
    pub fn finish<R, T, E>(
        &self,
        rows: Vec<R>,
        key: impl Fn(&R) -> (i64, &str),
        mut view: impl FnMut(R) -> Result<T, E>,
    ) -> Result<Page<T>, E> {
        let (rows, next_cursor) = self.cut(rows, key);
        let items = rows
            .into_iter()
            .map(&mut view)
            .collect::<Result<Vec<_>, E>>()?;
        Ok(Page { items, next_cursor })
    }
}

fn encode(list: &str, time: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1|{list}|{time}|{id}"))
}

fn decode(list: &str, cursor: &str) -> Result<(i64, String), String> {
    let bad = || {
        format!(
            "invalid cursor `{}`: pass the `next_cursor` of the previous page unchanged, or \
             leave it out for the first page",
            cursor.chars().take(64).collect::<String>()
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let mut parts = text.splitn(4, '|');
    let (Some("v1"), Some(of), Some(time), Some(id)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if of != list {
        return Err(format!(
            "this cursor belongs to another list ({of}, not {list}): keep the same scope and \
             filters while paging"
        ));
    }
    let time = time.parse::<i64>().map_err(|_| bad())?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((time, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_tied_to_their_list() {
        let c = encode("requests:mine", 1_700_000_000, "a|b-c");
        let q = PageQuery::parse("requests:mine", Some(&c), Some("7")).unwrap();
        assert_eq!(q.after(), Some((1_700_000_000, "a|b-c")));
        assert_eq!(q.fetch_limit(), 8);
        let err = PageQuery::parse("grants:mine", Some(&c), None).unwrap_err();
        assert!(err.contains("another list"), "{err}");
    }

    #[test]
    fn bad_cursors_and_limits_are_refused_with_a_reason() {
        for c in [
            "",
            "!!!",
            "djE",
            "bm9wZQ",
            &URL_SAFE_NO_PAD.encode("v1|l|x|id"),
            &URL_SAFE_NO_PAD.encode("v1|l|5|"),
        ] {
            let err = PageQuery::parse("l", Some(c), None).unwrap_err();
            assert!(err.starts_with("invalid cursor"), "{c}: {err}");
        }
        for l in ["0", "501", "-1", "ten", ""] {
            let err = PageQuery::parse("l", None, Some(l)).unwrap_err();
            assert!(err.contains("from 1 to 500"), "{l}: {err}");
        }
        assert_eq!(
            PageQuery::parse("l", None, None).unwrap(),
            PageQuery::first("l")
        );
        assert!(PageQuery::parse("l", None, Some("500")).is_ok());
    }

    #[test]
    fn a_page_names_the_next_only_when_there_is_more() {
        let q = PageQuery::parse("l", None, Some("2")).unwrap();
        let rows = vec![(3, "c".to_owned()), (2, "b".to_owned())];
        let (page, next) = q.cut(rows.clone(), |r| (r.0, &r.1));
        assert_eq!((page.len(), next), (2, None));
        let mut more = rows;
        more.push((1, "a".into()));
        let (page, next) = q.cut(more, |r| (r.0, &r.1));
        assert_eq!(page.len(), 2);
        let next = PageQuery::parse("l", next.as_deref(), Some("2")).unwrap();
        assert_eq!(next.after(), Some((2, "b")));
    }
}
