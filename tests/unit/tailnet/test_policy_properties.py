"""Property tests over generated stacks: the promises of the policy always hold.

For any tags, ports, relays and admins, either the stack is refused at the edge
(shared tags, a tag admin, the API on the SSH port) with an error naming the
field, or its policy passes its own tests and: workers reach the orchestrator's
API port and nothing else, nothing reaches a worker, admins reach every host over
SSH, and relay routes are reachable by admins only.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from infra.config.hosts import orchestrator_host, relay_hosts
from infra.ground import hujson
from infra.ground.errors import ConfigError
from infra.tailnet.evaluator import accepting_rules
from infra.tailnet.model import build_tailnet_model
from infra.tailnet.policy import admins_as_test_sources, other_port, probe_address, relay_routes
from infra.tailnet.policy_document import policy_document
from tests.support.stacks import example_raw_config
from tests.unit.tailnet.support import config_from

TAG_NAMES = ["relaymd-orchestrator", "relaymd-worker", "relaymd-relay", "ci-runner", "ops"]
tags = st.sampled_from(TAG_NAMES).map(lambda name: f"tag:{name}")
people = st.sampled_from(["alice@example.org", "ops@example.net", "autogroup:admin"])
# Owners the policy would not declare: always refused at the edge.
undeclared = st.sampled_from(["tag:ops", "group:ops"])
routes = st.lists(
    st.sampled_from(["10.100.10.0/24", "10.0.0.0/8", "192.168.1.0/24", "172.16.5.9/32"]),
    max_size=2,
    unique=True,
)


@st.composite
def stacks(draw: st.DrawFn) -> dict[str, Any]:
    raw = example_raw_config()
    # Mostly well-formed stacks; about one in four may collide tags or make a tag an admin.
    careless = draw(st.integers(0, 3)) == 0
    own = draw(st.lists(tags, min_size=3, max_size=3, unique=not careless))
    raw["tailnet"]["tags"] = dict(zip(("orchestrator", "worker", "relay"), own, strict=True))
    raw["tailnet"]["admins"] = draw(
        st.lists(
            people | tags | undeclared if careless else people, min_size=1, max_size=3, unique=True
        )
    )
    raw["orchestrator"]["port"] = draw(st.sampled_from([22, 53, 443, 2222, 36158, 65535]))
    raw["orchestrator"]["ssh_port"] = draw(st.sampled_from([22, 2222]))
    relay = raw["relays"][0]
    raw["relays"] = [
        {
            **relay,
            "name": f"relay-{index}",
            "address": f"10.{index}.0.2/24",
            "gateway": f"10.{index}.0.1",
            "tailnet_hostname": f"relay-{index}",
            "internal_domain": draw(st.sampled_from(["internal", "lab.example.org"])),
            "advertise_routes": draw(routes),
        }
        for index in range(draw(st.integers(0, 3)))
    ]
    return raw


def well_formed(raw: dict[str, Any]) -> bool:
    """Distinct tags, admins that are people or autogroups, the API not on the SSH port."""
    own = set(raw["tailnet"]["tags"].values())
    orchestrator = raw["orchestrator"]
    return (
        len(own) == 3
        and not any(admin.startswith(("tag:", "group:")) for admin in raw["tailnet"]["admins"])
        and orchestrator["port"] != orchestrator["ssh_port"]
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks())
def test_policy_promises_hold_or_the_stack_is_refused(raw: dict[str, Any]) -> None:
    try:
        config = config_from(raw)
    except ConfigError as error:
        event("refused at the edge: shared tags, a tag admin or the API on the SSH port")
        assert not well_formed(raw)
        assert any(
            path in str(error) for path in ("tailnet.tags.", "tailnet.admins[", "orchestrator.port")
        )
        return
    assert well_formed(raw), "a stack whose roles share a tag (or a tag admin) was accepted"
    # A well-formed stack's policy always passes its own tests.
    model = build_tailnet_model(config, orchestrator_host(config), relay_hosts(config))

    event("accepted")
    policy = model.policy
    t = config.tailnet.tags
    port = config.orchestrator.port
    probes = [probe_address(route) for route in relay_routes(config)]
    hosts = [t.orchestrator, t.worker, t.relay, *probes]
    ssh = config.orchestrator.ssh_port
    ports = sorted({22, 53, ssh, port, other_port(port), 8080})
    sources = [t.orchestrator, t.worker, t.relay, *admins_as_test_sources(config.tailnet.admins)]

    def allowed(src: str, host: str, p: int) -> bool:
        return bool(accepting_rules(policy, src, f"{host}:{p}"))

    # Workers: the API port on the orchestrator, and nothing else.
    assert allowed(t.worker, t.orchestrator, port)
    for host in hosts:
        for p in ports:
            if (host, p) != (t.orchestrator, port):
                assert not allowed(t.worker, host, p), (host, p)
    # Nothing reaches a worker.
    for src in sources:
        for p in ports:
            assert not allowed(src, t.worker, p), (src, p)
    # Admins manage every host; relay routes are theirs alone.
    admins = [a for a in admins_as_test_sources(config.tailnet.admins) if a not in (t.worker,)]
    for admin in admins:
        assert allowed(admin, t.orchestrator, ssh)
        assert allowed(admin, t.relay, 22)
        for probe in probes:
            assert allowed(admin, probe, 22)
    for src in (t.orchestrator, t.worker, t.relay):
        if src in config.tailnet.admins:
            continue
        for probe in probes:
            assert not any(allowed(src, probe, p) for p in ports), (src, probe)

    # Structurally, for every admin (groups and autogroups too): no rule's destination
    # selects workers, and workers are the source of exactly one rule, to the API.
    for rule in policy.acls:
        assert all(dst.rpartition(":")[0] not in (t.worker, "*") for dst in rule.dst), rule
        assert "*" not in rule.src
        if t.worker in rule.src:
            assert (rule.src, rule.dst, rule.proto) == (
                (t.worker,),
                (f"{t.orchestrator}:{port}",),
                "tcp",
            )
    assert sum(t.worker in rule.src for rule in policy.acls) == 1

    # Tag owners are the admins; approvers exist exactly when routes do.
    document = hujson.parse(model.policy_text)
    assert document == hujson.plain(policy_document(policy))
    assert set(document["tagOwners"]) == {t.orchestrator, t.worker, t.relay}
    assert all(owners == config.tailnet.admins for owners in document["tagOwners"].values())
    assert ("autoApprovers" in document) == bool(probes)
    # Every accept of the policy is asserted by a test, and tests are non-empty.
    asserted = {e.asserts for test in policy.tests for e in test.accept}
    if admins:
        assert {rule.name for rule in policy.acls} <= asserted
