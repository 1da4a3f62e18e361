//! Judging the probable cause against the fault a drill injected: what would have been the
//! right answer for each fault kind, and whether the top-ranked cause gave it.

use apiary_faults::FaultSpec;
use dashboard_api::{Cause, CauseCheck};

/// The right answer for one injected fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// A cause kind that is right whatever its service (a traffic surge, the broker).
    pub kind: Option<&'static str>,
    /// Services a cause may name (for a link, its callee or caller).
    pub services: Vec<String>,
    /// The attribute that tells this fault apart, where one does: `(key, value)`.
    pub attribute: Option<(&'static str, String)>,
}

impl Expected {
    pub fn of(spec: &FaultSpec) -> Self {
        let (kind, services, attribute) = match spec {
            FaultSpec::TrafficSpike { .. } => (Some("traffic"), Vec::new(), None),
            FaultSpec::BrokerDown {} => (Some("broker"), Vec::new(), None),
            FaultSpec::Unreachable { service, peer } => {
                (None, vec![service.clone(), peer.clone()], None)
            }
            FaultSpec::BadDeploy {
                service, version, ..
            } => (
                None,
                vec![service.clone()],
                Some(("apiary.deployed_version", version.clone())),
            ),
            FaultSpec::ErrorRate {
                service,
                route: Some(route),
                ..
            } => (
                None,
                vec![service.clone()],
                // "POST /charges": the span's http.route is the path template.
                route
                    .split_once(' ')
                    .map(|(_, path)| ("http.route", path.to_owned())),
            ),
            other => (None, other.services(), None),
        };
        Self {
            kind,
            services,
            attribute,
        }
    }

    /// "payment", "a traffic surge", "catalog with apiary.deployed_version=0.2.0-rc.1".
    pub fn describe(&self) -> String {
        let what = match (self.kind, self.services.as_slice()) {
            (Some("traffic"), _) => "a traffic surge".to_owned(),
            (Some("broker"), _) => "the message broker".to_owned(),
            (Some(k), _) => k.to_owned(),
            (None, s) => s.join(" or "),
        };
        match &self.attribute {
            Some((k, v)) => format!("{what} with {k}={v}"),
            None => what,
        }
    }

    /// Whether `cause` names this fault.
    pub fn names(&self, cause: &Cause) -> bool {
        if let Some(kind) = self.kind {
            return cause.kind == kind;
        }
        let named = |s: &Option<String>| s.as_ref().is_some_and(|s| self.services.contains(s));
        named(&cause.service) || (cause.kind == "link" && named(&cause.peer))
    }

    /// Whether `cause`'s most telling attribute is this fault's.
    pub fn attribute_named(&self, cause: &Cause) -> Option<bool> {
        let (key, value) = self.attribute.as_ref()?;
        Some(
            cause
                .attributes
                .first()
                .is_some_and(|a| a.key == *key && a.value == *value),
        )
    }
}

/// The check of `top` against the faults on at the time.
pub fn check(at_ms: u64, top: Option<Cause>, faults: &[&FaultSpec]) -> CauseCheck {
    let expected: Vec<Expected> = faults.iter().map(|f| Expected::of(f)).collect();
    let matched = top
        .as_ref()
        .and_then(|c| expected.iter().find(|e| e.names(c)));
    let hit = matched.is_some();
    let attribute_hit = match (matched, &top) {
        (Some(e), Some(c)) => e.attribute_named(c),
        _ => None,
    };
    CauseCheck {
        at_ms,
        expected: expected.iter().map(Expected::describe).collect(),
        top,
        hit,
        attribute_hit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dashboard_api::AttributeDelta;

    fn cause(kind: &str, service: Option<&str>, peer: Option<&str>) -> Cause {
        Cause {
            kind: kind.into(),
            service: service.map(Into::into),
            peer: peer.map(Into::into),
            ..Cause::default()
        }
    }

    #[test]
    fn a_service_fault_is_named_by_its_service_or_a_link_to_it() {
        let outage = FaultSpec::ErrorRate {
            service: "payment".into(),
            percent: 100.0,
            route: None,
            status: None,
        };
        let c = check(
            1200,
            Some(cause("service", Some("payment"), None)),
            &[&outage],
        );
        assert!(c.hit);
        assert_eq!(c.attribute_hit, None);
        assert_eq!(c.expected, ["payment"]);
        assert!(
            !check(
                1,
                Some(cause("service", Some("checkout"), None)),
                &[&outage]
            )
            .hit
        );
        assert!(!check(1, None, &[&outage]).hit);
        let partition = FaultSpec::Partition {
            a: "checkout".into(),
            b: "payment".into(),
        };
        assert!(
            check(
                1,
                Some(cause("link", Some("payment"), Some("checkout"))),
                &[&partition]
            )
            .hit
        );
    }

    #[test]
    fn a_surge_or_the_broker_is_named_by_kind_and_a_bad_deploy_by_its_version_too() {
        let spike = FaultSpec::TrafficSpike { factor: 8.0 };
        assert!(check(1, Some(cause("traffic", Some("gateway"), None)), &[&spike]).hit);
        assert!(!check(1, Some(cause("service", Some("gateway"), None)), &[&spike]).hit);
        let deploy: FaultSpec = serde_json::from_value(serde_json::json!({
            "kind": "bad-deploy", "service": "catalog", "version": "0.2.0-rc.1", "error_percent": 30
        }))
        .expect("spec");
        let mut c = cause("service", Some("catalog"), None);
        c.attributes.push(AttributeDelta {
            key: "apiary.deployed_version".into(),
            value: "0.2.0-rc.1".into(),
            bad_share: 1.0,
            baseline_share: 0.2,
            bad_spans: 9,
        });
        let checked = check(1, Some(c.clone()), &[&deploy]);
        assert_eq!((checked.hit, checked.attribute_hit), (true, Some(true)));
        assert_eq!(
            checked.expected,
            ["catalog with apiary.deployed_version=0.2.0-rc.1"]
        );
        c.attributes[0].value = "0.1.0".into();
        assert_eq!(check(1, Some(c), &[&deploy]).attribute_hit, Some(false));
    }
}
