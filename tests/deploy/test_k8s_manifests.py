"""The Kubernetes manifests in deploy/k8s/: valid against the API's schemas, and consistent.

No cluster: kubernetes-validate ships the OpenAPI schemas of every Kubernetes version it knows
as JSON files inside the package. The strict schemas make an unknown or misspelt field
(readinesProbe) an error, not something an API server may drop. Beyond the schemas: the objects
refer to each other by names that exist, and the commands are the ones deploy/compose.yaml runs.
"""

import copy
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from django.http.request import validate_host

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
# The oldest Kubernetes minor the manifests are meant for, and the newest whose schemas the
# pinned kubernetes-validate (tests/requirements.txt) ships.
KUBERNETES_VERSIONS = ("1.31", "1.37")
# What Kubernetes itself expands in command, args and env values: $(NAME), but not $$(NAME).
KUBERNETES_REFERENCE = re.compile(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
SHELL_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
# Variables the container runtime sets in every container.
RUNTIME_VARIABLES = {"HOSTNAME", "HOME", "PATH"}
PLACEHOLDER = "change-me"


def manifest_files() -> list[Path]:
    """Return every manifest file, kustomization.yaml aside."""
    return sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")


def documents(path: Path) -> list[dict]:
    """Return the YAML documents in one file, empty ones left out."""
    with path.open() as handle:
        return [document for document in yaml.safe_load_all(handle) if document is not None]


def all_objects() -> list[dict]:
    """Return every object of every manifest file."""
    return [document for path in manifest_files() for document in documents(path)]


def find(kind: str, name: str) -> dict:
    """Return the one object of this kind and name."""
    matches = [o for o in all_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def of_kind(kind: str) -> list[dict]:
    return [o for o in all_objects() if o["kind"] == kind]


def schema_problem(document: dict, version: str) -> str | None:
    """Return why the document does not fit the Kubernetes schema (strict), or None when it does.

    An object whose kind or apiVersion has no schema in that version is a problem too.
    """
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(step) for step in error.path) or "(top)"
        return f"{where}: {error.message}"
    except kubernetes_validate.SchemaNotFoundError as error:
        return error.message
    return None


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def containers(workload: dict) -> list[dict]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def main_container(workload: dict) -> dict:
    (container,) = pod_spec(workload)["containers"]
    return container


def environment(container: dict) -> dict[str, str]:
    """Return the variables the container gets: envFrom's sources' keys, then env's entries."""
    variables: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            variables.update(find("ConfigMap", source["configMapRef"]["name"])["data"])
        if "secretRef" in source:
            variables.update(find("Secret", source["secretRef"]["name"])["stringData"])
    for variable in container.get("env", []):
        variables[variable["name"]] = variable.get("value", "")
    return variables


def expand(words: list[str], variables: dict[str, str]) -> list[str]:
    """Expand $(NAME) as Kubernetes does in a command; a name it does not know fails here."""
    return [KUBERNETES_REFERENCE.sub(lambda m: variables[m.group(1)], word) for word in words]


def compose_service(name: str) -> dict:
    with (DEPLOY / "compose.yaml").open() as handle:
        return yaml.safe_load(handle)["services"][name]


def test_kustomization_lists_exactly_the_other_files():
    with (K8S / "kustomization.yaml").open() as handle:
        kustomization = yaml.safe_load(handle)

    assert kustomization["kind"] == "Kustomization"
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources)), "a file is listed twice"
    assert set(resources) == {path.name for path in manifest_files()}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", manifest_files(), ids=lambda path: path.name)
def test_every_manifest_fits_the_kubernetes_schema(path, version):
    objects = documents(path)
    assert objects, f"{path.name} holds no object"

    problems = [
        f"{o.get('kind')} {o.get('metadata', {}).get('name')}: {problem}"
        for o in objects
        if (problem := schema_problem(o, version))
    ]

    assert problems == []


# Valid as it stands, and independent of the files, so that a mistake there cannot hide here.
SMALL_DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "example"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "example"}},
        "template": {
            "metadata": {"labels": {"app": "example"}},
            "spec": {"containers": [{"name": "example", "image": "example:1"}]},
        },
    },
}


def broken_replicas(deployment: dict) -> None:
    deployment["spec"]["replicas"] = "two"


def misspelt_field(deployment: dict) -> None:
    pod_spec(deployment)["containers"][0]["readinesProbe"] = {"periodSeconds": 10}


def container_without_a_name(deployment: dict) -> None:
    del pod_spec(deployment)["containers"][0]["name"]


def unknown_kind(deployment: dict) -> None:
    deployment["apiVersion"] = "apps/v1beta1"


@pytest.mark.parametrize(
    ("breakage", "mentioned"),
    [
        (broken_replicas, "spec.replicas"),
        (misspelt_field, "readinesProbe"),
        (container_without_a_name, "'name' is a required property"),
        (unknown_kind, "apps/v1beta1"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_the_validation_rejects_a_broken_manifest(breakage, mentioned):
    deployment = copy.deepcopy(SMALL_DEPLOYMENT)
    assert schema_problem(deployment, KUBERNETES_VERSIONS[-1]) is None
    breakage(deployment)

    for version in KUBERNETES_VERSIONS:
        problem = schema_problem(deployment, version)
        assert problem is not None, f"{breakage.__name__} passed on {version}"
        assert mentioned in problem


def test_the_expected_objects_are_there():
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in all_objects())

    assert kinds == [
        ("ConfigMap", "chatbot-config"),
        ("Deployment", "chatbot-beat"),
        ("Deployment", "chatbot-web"),
        ("Deployment", "chatbot-worker"),
        ("HorizontalPodAutoscaler", "chatbot-web"),
        ("HorizontalPodAutoscaler", "chatbot-worker"),
        ("Ingress", "chatbot"),
        ("Job", "chatbot-migrate"),
        ("PersistentVolumeClaim", "chatbot-var"),
        ("PodDisruptionBudget", "chatbot-web"),
        ("Secret", "chatbot-secrets"),
        ("Service", "chatbot-web"),
        ("Service", "postgres"),
        ("Service", "redis"),
    ]


def test_the_commands_are_the_ones_compose_runs():
    """compose.yaml fixes 2 web processes and 2 pool processes; the ConfigMap says the same."""
    for workload, service in [
        (find("Deployment", "chatbot-web"), "web"),
        (find("Deployment", "chatbot-worker"), "worker"),
        (find("Deployment", "chatbot-beat"), "beat"),
        (find("Job", "chatbot-migrate"), "migrate"),
    ]:
        container = main_container(workload)
        command = expand(container["command"] + container.get("args", []), environment(container))
        assert command == compose_service(service)["command"], service


def test_serve_sh_runs_the_same_queues_and_socket_limits():
    serve = (DEPLOY / "serve.sh").read_text()
    web = main_container(find("Deployment", "chatbot-web"))["command"]
    worker = main_container(find("Deployment", "chatbot-worker"))["command"]

    assert "-Q celery,nlu,handoff,webhooks" in serve
    assert worker[worker.index("-Q") + 1] == "celery,nlu,handoff,webhooks"
    assert "--ws-max-size 65536 --proxy-headers --lifespan off" in serve
    assert (
        " ".join(web[web.index("--ws-max-size") :])
        == "--ws-max-size 65536 --proxy-headers --lifespan off"
    )


def test_every_variable_a_container_reads_is_defined():
    configmaps = {o["metadata"]["name"]: o["data"] for o in of_kind("ConfigMap")}
    secrets = {o["metadata"]["name"]: o["stringData"] for o in of_kind("Secret")}
    workloads = [*of_kind("Deployment"), *of_kind("Job")]
    assert workloads

    for workload in workloads:
        for container in containers(workload):
            where = f"{workload['metadata']['name']}/{container['name']}"
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps, where
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, where
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {})
                if "configMapKeyRef" in reference:
                    key = reference["configMapKeyRef"]
                    assert key["key"] in configmaps[key["name"]], where
                if "secretKeyRef" in reference:
                    key = reference["secretKeyRef"]
                    assert key["key"] in secrets[key["name"]], where
            variables = environment(container)
            words = [*container.get("command", []), *container.get("args", [])]
            words += [v["value"] for v in container.get("env", []) if "value" in v]
            for word in words:
                for name in KUBERNETES_REFERENCE.findall(word):
                    assert name in variables, f"{where} reads $({name}), which nothing defines"
            # What a shell inside the container expands: commands and exec probes.
            scripts = [w for w in words if "$" in w and not KUBERNETES_REFERENCE.search(w)]
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                scripts += container.get(probe, {}).get("exec", {}).get("command", [])
            for script in scripts:
                for name in SHELL_REFERENCE.findall(script):
                    assert name in variables or name in RUNTIME_VARIABLES, f"{where} reads ${name}"


def test_the_configmap_holds_only_documented_settings():
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (DEPLOY / "env.example").read_text(), re.M)
    )
    configmap = find("ConfigMap", "chatbot-config")["data"]
    secret = find("Secret", "chatbot-secrets")["stringData"]

    assert set(configmap) <= documented
    assert set(secret) <= documented
    assert not set(configmap) & set(secret), "a setting in both: the Secret's value would win"
    assert configmap["VAR_DIR"] == "/var/lib/chatbot"
    assert configmap["NLU_THREADS"] == "1"
    for name in ("WEB_WORKERS", "CELERY_CONCURRENCY"):
        assert int(configmap[name]) >= 1


def test_the_secret_is_a_template_with_placeholders():
    secret = find("Secret", "chatbot-secrets")

    assert "data" not in secret, "base64 values hide whether a real secret was committed"
    assert set(secret["stringData"]) == {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}
    assert secret["stringData"]["SECRET_KEY"] == PLACEHOLDER
    assert PLACEHOLDER in secret["stringData"]["DATABASE_URL"]
    # The init containers refuse to start on exactly this placeholder.
    for name in ("chatbot-web", "chatbot-worker", "chatbot-beat"):
        (init,) = pod_spec(find("Deployment", name))["initContainers"]
        assert f'"$SECRET_KEY" = {PLACEHOLDER}' in init["command"][-1]
        assert "migrate --check" in init["command"][-1]


def test_postgres_and_redis_are_external_services_the_urls_point_at():
    secret = find("Secret", "chatbot-secrets")["stringData"]

    for name, url in [("postgres", secret["DATABASE_URL"]), ("redis", secret["REDIS_URL"])]:
        service = find("Service", name)
        assert service["spec"]["type"] == "ExternalName"
        assert service["spec"]["externalName"]
        assert re.search(rf"[@/]{name}:\d+/", url), url
    # Nothing here runs them: every workload runs the platform's own image.
    images = {c["image"] for o in [*of_kind("Deployment"), *of_kind("Job")] for c in containers(o)}
    assert images == {"chatbot:latest"}


def test_the_web_has_health_probes_that_django_answers():
    deployment = find("Deployment", "chatbot-web")
    container = main_container(deployment)
    allowed_hosts = find("ConfigMap", "chatbot-config")["data"]["ALLOWED_HOSTS"].split(",")

    assert {"containerPort": 8000, "name": "http"} in container["ports"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        request = container[probe]["httpGet"]
        assert (request["path"], request["port"]) == ("/healthz", 8000), probe
        headers = {h["name"]: h["value"] for h in request.get("httpHeaders", [])}
        # Without a Host header the kubelet sends the pod's address, which Django refuses.
        assert validate_host(headers["Host"], allowed_hosts), probe
        assert container[probe]["timeoutSeconds"] <= container[probe]["periodSeconds"], probe


def test_stopping_leaves_time_to_finish_a_turn():
    chat_lock_timeout = int(
        find("ConfigMap", "chatbot-config")["data"]["CHAT_LOCK_TIMEOUT_SECONDS"]
    )
    web = pod_spec(find("Deployment", "chatbot-web"))
    worker = pod_spec(find("Deployment", "chatbot-worker"))
    pre_stop = main_container(find("Deployment", "chatbot-web"))["lifecycle"]["preStop"]
    assert pre_stop["exec"]["command"][0] == "sleep"
    pause = int(pre_stop["exec"]["command"][1])

    assert web["terminationGracePeriodSeconds"] == 75
    assert web["terminationGracePeriodSeconds"] > chat_lock_timeout + pause
    assert worker["terminationGracePeriodSeconds"] == 60


def test_the_worker_is_probed_by_a_celery_ping():
    container = main_container(find("Deployment", "chatbot-worker"))

    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        script = container[probe]["exec"]["command"]
        assert script[:2] == ["/bin/sh", "-c"], probe
        assert 'celery -A chatbot inspect ping -d "celery@$HOSTNAME" --timeout 5' in script[2]
        # The ping waits up to 5 s after Python and Django have started.
        assert container[probe]["timeoutSeconds"] >= 15, probe
        assert container[probe]["periodSeconds"] >= container[probe]["timeoutSeconds"], probe


def test_autoscalers_target_each_deployment_on_cpu():
    deployments = {
        o["metadata"]["name"]: o
        for o in of_kind("Deployment")
        if o["metadata"]["name"] != "chatbot-beat"
    }
    autoscalers = {
        o["spec"]["scaleTargetRef"]["name"]: o for o in of_kind("HorizontalPodAutoscaler")
    }

    assert set(autoscalers) == set(deployments)
    expected_bounds = {"chatbot-web": (2, 10), "chatbot-worker": (1, 8)}
    for name, autoscaler in autoscalers.items():
        spec = autoscaler["spec"]
        assert autoscaler["apiVersion"] == "autoscaling/v2"
        assert spec["scaleTargetRef"]["kind"] == "Deployment"
        assert spec["scaleTargetRef"]["apiVersion"] == deployments[name]["apiVersion"]
        assert (spec["minReplicas"], spec["maxReplicas"]) == expected_bounds[name]
        (metric,) = spec["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
        # Utilisation is measured against requests; a fixed count would fight the autoscaler.
        assert "replicas" not in deployments[name]["spec"]
        for container in containers(deployments[name]):
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), container["name"]
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), container["name"]


def beat_deployment() -> dict:
    return find("Deployment", "chatbot-beat")


def test_exactly_one_beat_runs_and_nothing_scales_it():
    beat = beat_deployment()

    assert beat["spec"]["replicas"] == 1
    # The old pod stops before the new one starts: never two beats sending each task twice.
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    targets = {o["spec"]["scaleTargetRef"]["name"] for o in of_kind("HorizontalPodAutoscaler")}
    assert "chatbot-beat" not in targets
    command = main_container(beat)["command"]
    assert command[command.index("--schedule") + 1].startswith("/var/lib/chatbot/")


def test_selectors_claims_and_backends_name_what_exists():
    web = find("Deployment", "chatbot-web")
    web_labels = web["spec"]["template"]["metadata"]["labels"]
    service = find("Service", "chatbot-web")
    claim = find("PersistentVolumeClaim", "chatbot-var")

    for workload in of_kind("Deployment"):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert workload["spec"]["selector"]["matchLabels"].items() <= labels.items()
        volumes = {volume["name"]: volume for volume in pod_spec(workload)["volumes"]}
        mounts = {m["name"]: m["mountPath"] for m in main_container(workload)["volumeMounts"]}
        assert volumes["var"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
        assert mounts["var"] == "/var/lib/chatbot"
        if workload["metadata"]["name"] == "chatbot-beat":
            # Beat serves no metrics: only the shared volume, for its schedule file.
            assert set(mounts) == set(volumes) == {"var"}
            continue
        # Each pod's processes sum their metrics through an in-memory folder, empty at start.
        assert volumes["metrics"]["emptyDir"]["medium"] == "Memory"
        environment = {e["name"]: e["value"] for e in main_container(workload)["env"]}
        assert mounts["metrics"] == environment["PROMETHEUS_MULTIPROC_DIR"]
        assert set(mounts) == set(volumes) == {"var", "metrics"}
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert service["spec"]["selector"].items() <= web_labels.items()
    assert service["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http"}]
    budget = find("PodDisruptionBudget", "chatbot-web")
    assert budget["spec"]["selector"]["matchLabels"].items() <= web_labels.items()
    for rule in find("Ingress", "chatbot")["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "chatbot-web"
            assert backend["port"] == {"name": "http"}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_builds_every_object():
    built = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=False
    )

    assert built.returncode == 0, built.stderr
    objects = [o for o in yaml.safe_load_all(built.stdout) if o]
    assert sorted(o["kind"] for o in objects) == sorted(o["kind"] for o in all_objects())


def test_the_worker_serves_its_metrics_on_the_port_it_declares():
    worker = main_container(find("Deployment", "chatbot-worker"))
    environment = {e["name"]: e["value"] for e in worker["env"]}

    (port,) = worker["ports"]
    assert port == {"name": "metrics", "containerPort": int(environment["METRICS_PORT"])}
