//! How an assignment's value spells the consumer's configuration:
//! `inactive_threshold_ms=30000;leader=2` (`leader=metalayer` for a consumer
//! led by whichever node leads the metalayer).

use std::time::Duration;

use crate::node::{ConsumerSpec, Placement};

pub(super) fn encode(spec: &ConsumerSpec) -> String {
    let leader = match spec.placement {
        Placement::MetalayerLeader => "metalayer".to_owned(),
        Placement::Node(node) => node.to_string(),
    };
    format!(
        "inactive_threshold_ms={};leader={leader}",
        spec.inactive_threshold.as_millis()
    )
}

pub(super) fn decode(value: &[u8]) -> Result<ConsumerSpec, String> {
    let text = std::str::from_utf8(value).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut threshold = None;
    let mut placement = None;
    for field in text.split(';').filter(|f| !f.is_empty()) {
        let (name, value) = field
            .split_once('=')
            .ok_or_else(|| format!("`{field}` is not `name=value` in `{text}`"))?;
        match name {
            "inactive_threshold_ms" => {
                let ms: u64 = value
                    .parse()
                    .map_err(|e| format!("inactive_threshold_ms `{value}`: {e}"))?;
                threshold = Some(Duration::from_millis(ms));
            }
            "leader" if value == "metalayer" => placement = Some(Placement::MetalayerLeader),
            "leader" => {
                let node = value
                    .parse()
                    .map_err(|e| format!("leader `{value}`: {e}"))?;
                placement = Some(Placement::Node(node));
            }
            _ => {} // fields of the broker's own, ignored here
        }
    }
    Ok(ConsumerSpec {
        inactive_threshold: threshold
            .ok_or_else(|| format!("no inactive_threshold_ms in `{text}`"))?,
        placement: placement.ok_or_else(|| format!("no leader in `{text}`"))?,
    })
}

/// `value` with its `leader` field set to `node`, every other field kept as
/// it was (a failover re-places a consumer without touching the broker's own
/// fields).
pub(super) fn with_leader(value: &[u8], node: usize) -> Result<String, String> {
    let text = std::str::from_utf8(value).map_err(|e| format!("not UTF-8: {e}"))?;
    let fields: Vec<String> = text
        .split(';')
        .filter(|f| !f.is_empty())
        .map(|field| match field.split_once('=') {
            Some(("leader", _)) => format!("leader={node}"),
            _ => field.to_owned(),
        })
        .collect();
    Ok(fields.join(";"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for placement in [Placement::Node(2), Placement::MetalayerLeader] {
            let spec = ConsumerSpec {
                inactive_threshold: Duration::from_millis(1500),
                placement,
            };
            assert_eq!(decode(encode(&spec).as_bytes()), Ok(spec));
        }
    }

    #[test]
    fn with_leader_rewrites_only_the_leader() {
        assert_eq!(
            with_leader(b"inactive_threshold_ms=5;leader=0;owner=team-a", 2).as_deref(),
            Ok("inactive_threshold_ms=5;leader=2;owner=team-a")
        );
        let moved = with_leader(b"inactive_threshold_ms=5;leader=1", 0).expect("UTF-8");
        assert_eq!(
            decode(moved.as_bytes()).map(|s| s.placement),
            Ok(Placement::Node(0))
        );
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        assert_eq!(
            decode(b"leader=1"),
            Err("no inactive_threshold_ms in `leader=1`".to_owned())
        );
        assert!(decode(b"inactive_threshold_ms=x;leader=1")
            .unwrap_err()
            .starts_with("inactive_threshold_ms `x`"));
        assert!(decode(b"garbage").unwrap_err().contains("not `name=value`"));
        assert_eq!(
            decode(b"inactive_threshold_ms=5;leader=0;owner=team-a").map(|s| s.placement),
            Ok(Placement::Node(0))
        );
    }
}
