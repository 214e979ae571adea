//! Routes as users name them: `'GET /premium'`, `'POST /compute {"x":1}'`.

use reqwest::Method;
use std::fmt;
use std::str::FromStr;

/// One request to make: method, path and an optional JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: Method,
    /// Path, starting with `/`.
    pub path: String,
    /// JSON body to send.
    pub body: Option<String>,
}

impl FromStr for RouteSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let mut parts = s.splitn(3, ' ');
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            return Err(format!(
                "'{s}' should be 'METHOD PATH [BODY]', as in 'GET /premium'"
            ));
        };
        let method = Method::from_str(&method.to_uppercase())
            .map_err(|_| format!("'{method}' is not an HTTP method"))?;
        if !path.starts_with('/') {
            return Err(format!("path '{path}' should start with '/'"));
        }
        let body = parts
            .next()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_string);
        if let Some(b) = &body {
            serde_json::from_str::<serde_json::Value>(b)
                .map_err(|e| format!("body of '{s}' is not JSON: {e}"))?;
        }
        Ok(RouteSpec {
            method,
            path: path.to_string(),
            body,
        })
    }
}

impl fmt::Display for RouteSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(b) = &self.body {
            write!(f, " {b}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse() {
        let r: RouteSpec = "POST /compute {\"fail\":true}".parse().unwrap();
        assert_eq!(
            (r.method, r.path.as_str(), r.body.as_deref()),
            (Method::POST, "/compute", Some("{\"fail\":true}"))
        );
        assert_eq!(
            "get /premium".parse::<RouteSpec>().unwrap().to_string(),
            "GET /premium"
        );
        assert!("GET premium".parse::<RouteSpec>().is_err());
        assert!("/premium".parse::<RouteSpec>().is_err());
        assert!(
            "POST /x {bad"
                .parse::<RouteSpec>()
                .unwrap_err()
                .contains("not JSON")
        );
    }
}
