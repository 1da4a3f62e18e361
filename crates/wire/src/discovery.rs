//! Where a service's instances are: the endpoints file `apiary up` keeps for every service
//! (`<data dir>/endpoints/<service>.json`), read by the callers' balancers and the dashboard's
//! scraper. In compose and Kubernetes there is no file: a service's name resolves to every
//! instance (DNS), and callers are told so by [`DISCOVERY_VAR`].

use serde::{Deserialize, Serialize};

/// How a service finds its downstreams' instances: `file:<dir>` (the launcher's endpoints
/// files), `dns` (every address of the name in `<NAME>_URL`), unset: the one URL as given.
pub const DISCOVERY_VAR: &str = "APIARY_DISCOVERY";
/// The endpoints directory inside the data directory.
pub const ENDPOINTS_DIR: &str = "endpoints";

/// Every instance of one service, as the launcher last wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    pub service: String,
    pub instances: Vec<Instance>,
}

/// One instance: its `service.instance.id` and base URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub url: String,
}

/// The file name of `service`'s endpoints in the endpoints directory.
pub fn file_name(service: &str) -> String {
    format!("{service}.json")
}

/// The `service.instance.id` of the `n`th (1-based) instance of `service`.
pub fn instance_id(service: &str, n: usize) -> String {
    format!("{service}-{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_round_trip_and_ids_count_from_one() {
        let e = Endpoints {
            service: "catalog".into(),
            instances: vec![Instance {
                id: instance_id("catalog", 1),
                url: "http://127.0.0.1:8001".into(),
            }],
        };
        let text = serde_json::to_string(&e).expect("json");
        assert_eq!(serde_json::from_str::<Endpoints>(&text).expect("back"), e);
        assert_eq!(e.instances[0].id, "catalog-1");
        assert_eq!(file_name("catalog"), "catalog.json");
    }
}
