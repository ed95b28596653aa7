//! What a reload changes: which running sources are left alone, which are
//! stopped, which are stopped and started again with new settings, and
//! which are started. A pure comparison of the running specs with the new
//! configuration's.

use std::collections::HashMap;

use crate::config::SourceSpec;

/// What to do with each source on a reload.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// New sources.
    pub start: Vec<SourceSpec>,
    /// Sources no longer in the configuration.
    pub stop: Vec<String>,
    /// Sources whose settings changed: stopped, then started again with
    /// these.
    pub restart: Vec<SourceSpec>,
    /// Sources whose settings are as they run.
    pub unchanged: Vec<String>,
}

/// Compares the running sources (by name) with the new configuration's.
pub fn plan<'a>(
    running: impl Iterator<Item = (&'a String, &'a SourceSpec)>,
    new: &[SourceSpec],
) -> Plan {
    let mut plan = Plan::default();
    let running: HashMap<&String, &SourceSpec> = running.collect();
    for name in running.keys() {
        if !new.iter().any(|s| &s.name == *name) {
            plan.stop.push((*name).clone());
        }
    }
    plan.stop.sort();
    for spec in new {
        match running.get(&spec.name) {
            None => plan.start.push(spec.clone()),
            Some(old) if *old == spec => plan.unchanged.push(spec.name.clone()),
            Some(_) => plan.restart.push(spec.clone()),
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn specs(text: &str) -> Vec<SourceSpec> {
        Config::parse(std::path::Path::new("/t/c.toml"), text)
            .map(|c| c.sources)
            .unwrap_or_default()
    }

    #[test]
    fn a_reload_starts_stops_and_restarts_by_name() {
        let old = specs(
            "[[source]]\nname = \"keep\"\nclass = \"A\"\ncode = \"\"\n\
             [[source]]\nname = \"change\"\nclass = \"A\"\ncode = \"\"\n\
             [[source]]\nname = \"drop\"\nclass = \"A\"\ncode = \"\"\n",
        );
        let new = specs(
            "[[source]]\nname = \"keep\"\nclass = \"A\"\ncode = \"\"\n\
             [[source]]\nname = \"change\"\nclass = \"A\"\ncode = \"x = 1\"\n\
             [[source]]\nname = \"add\"\nclass = \"A\"\ncode = \"\"\n",
        );
        assert_eq!(old.len(), 3);
        let running: Vec<(String, SourceSpec)> =
            old.into_iter().map(|s| (s.name.clone(), s)).collect();
        let p = plan(running.iter().map(|(n, s)| (n, s)), &new);
        let names = |v: &[SourceSpec]| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&p.start), ["add"]);
        assert_eq!(p.stop, ["drop"]);
        assert_eq!(names(&p.restart), ["change"]);
        assert_eq!(p.unchanged, ["keep"]);
    }
}
