"""The door's nginx configuration, rendered from the profile (one owner for its routes).

nginx is the only part that listens off loopback. Before it forwards a request on a guarded
route it asks the door's check (``auth_request`` to door_app.py on a unix socket): 204 lets it
through, 401 asks the browser for a login, 403 is refused (or, when the client address is locked
after failed logins, answered 429 with ``Retry-After``). The API route is passed through with
the client's own bearer key. Lines of the audit log that only nginx can see: a backend refusing
a signed-in user (MLflow's 403) and a GraphQL mutation sent to the read-only webserver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from playlist_assets.lib.service.profile import BACKEND_HOST, ROUTES, Profile, Route

CHECK_LOCATION = "/_door/check"
# Request bodies the read-only webserver gets are kept in memory up to this size, so the audit
# line can name a mutation (nginx's $request_body is empty for bodies written to disk).
VIEW_BODY_BUFFER = "1m"
# The first field of a GraphQL mutation in a JSON body, `mutation Name($x: T) {\n  launchRun(`,
# where \n is JSON's two-character escape. nginx turns \\ in a quoted string into one
# backslash, so the regex it compiles has \\[nrt]: a backslash, then the letter.
MUTATION_REGEX = r"~*mutation[^{]*[{](?:\s|\\\\[nrt])*(\w+)"
# MLflow artifact uploads through the door (the runs log on loopback, not through it).
MAX_BODY = "1g"


@dataclass(frozen=True)
class DoorConfig:
    listen_host: str
    tls_cert: Path | None = None
    tls_key: Path | None = None
    worker_user: str | None = None  # nginx's worker user when started as root
    # Services not part of this deployment: their route answers 503. The recommendation API
    # joins the profile when its command lands (helper "api"); compose has no dashboard.
    absent: frozenset[str] = frozenset({"api"})
    # service -> "host:port" where another machine or container serves it (compose); default:
    # the profile's port on 127.0.0.1.
    upstreams: dict[str, str] = field(default_factory=dict)

    def upstream(self, service: str, profile: Profile) -> str:
        return self.upstreams.get(service) or f"{BACKEND_HOST}:{profile.ports[service]}"


def _location(route: Route, profile: Profile, config: DoorConfig) -> str:
    upstream = f"http://{config.upstream(route.service, profile)}"
    lines = [f"location {route.prefix} {{"]
    if route.service in config.absent:
        # The recommendation API's place while it is not part of the profile: serve.sh starts
        # `playlist-assets api` on 127.0.0.1:API_PORT (and renders with --api) once the installed
        # package has that command.
        lines += [
            "    set $door_reason absent;",
            "    default_type text/plain;",
            f'    return 503 "{route.service} is not part of this deployment\\n";',
            "}",
        ]
        return "\n".join(lines)
    if route.policy is None:
        # The API checks its own bearer keys: the Authorization header goes through untouched.
        # Its routes are at its root (/v1/..., /healthz): the prefix is stripped.
        lines += [
            "    set $door_reason api;",
            f"    proxy_pass {upstream}/;",
            "    access_log {access} door;",
            "}",
        ]
        return "\n".join(lines)
    # Variables are shared with the check's subrequest, which nginx runs through the server's
    # rewrite phase again: set them here, never at the server level.
    lines += [
        f"    set $door_route {route.policy};",
        f"    auth_request {CHECK_LOCATION};",
        "    auth_request_set $door_reason $upstream_http_x_door_reason;",
        "    auth_request_set $door_retry $upstream_http_retry_after;",
        "    error_page 403 = @door_refused;",
        f"    proxy_pass {upstream};",
        "    access_log {access} door;",
        "    access_log {audit} door_refused if=$door_backend_refused;",
    ]
    if route.service == "mlflow":
        # MLflow checks the same login against its own user store (users add writes both), and
        # answers only the host names it was told: its own loopback address.
        lines.append(f"    proxy_set_header Host {config.upstream('mlflow', profile)};")
    else:
        lines.append('    proxy_set_header Authorization "";')  # the password stays at the door
    if route.service == "view":
        lines += [
            f"    client_body_buffer_size {VIEW_BODY_BUFFER};",
            "    access_log {audit} door_mutation if=$door_view_mutation;",
        ]
    lines.append("}")
    return "\n".join(lines)


def render(profile: Profile, config: DoorConfig) -> str:
    """The whole nginx.conf (nginx runs it in the foreground: serve.sh controls the process).

    Long because it is one template: nginx's file read top to bottom is easier to check than
    the same text assembled from pieces.
    """
    logs, nginx_dir = profile.log_dir, profile.nginx_dir
    listen = f"{config.listen_host}:{profile.ports['proxy']}"
    tls = config.tls_cert is not None
    locations = "\n".join(_location(r, profile, config) for r in ROUTES)
    locations = locations.replace("{access}", str(logs / "proxy-access.log")).replace(
        "{audit}", str(profile.audit_log)
    )
    server_tls = (
        f"    ssl_certificate {config.tls_cert};\n"
        f"    ssl_certificate_key {config.tls_key};\n"
        "    ssl_protocols TLSv1.2 TLSv1.3;\n"
        "    ssl_session_cache shared:door_tls:1m;\n"
        '    add_header Strict-Transport-Security "max-age=31536000" always;\n'
        if tls
        else ""
    )
    user = f"user {config.worker_user};\n" if config.worker_user else ""
    return f"""# Rendered by `playlist-assets service nginx-conf` (lib/service/nginx.py); do not edit.
{user}daemon off;
worker_processes 1;
pid {nginx_dir / "nginx.pid"};
error_log {logs / "proxy.log"} warn;
events {{ worker_connections 1024; }}

http {{
    server_tokens off;
    default_type application/octet-stream;
    client_body_temp_path {nginx_dir / "body"};
    proxy_temp_path {nginx_dir / "proxy"};
    fastcgi_temp_path {nginx_dir / "fastcgi"};
    uwsgi_temp_path {nginx_dir / "uwsgi"};
    scgi_temp_path {nginx_dir / "scgi"};
    client_max_body_size {MAX_BODY};

    log_format door '$time_iso8601 $remote_addr user=$remote_user "$request" $status '
                    '$body_bytes_sent door=$door_reason';
    access_log {logs / "proxy-access.log"} door;  # never nginx's compiled-in /var/log/nginx
    log_format door_refused '$time_iso8601 proxy refused user=$remote_user '
                            'client=$remote_addr "$request": the service answered $status';
    log_format door_mutation '$time_iso8601 proxy read-only user=$remote_user '
                             'client=$remote_addr mutation=$door_view_mutation: '
                             'sent to the read-only webserver, which refuses changes';

    # A 403 of the service itself after the door let the user in (e.g. MLflow refusing a viewer).
    map "$status:$door_reason" $door_backend_refused {{
        "403:ok" 1;
        default 0;
    }}
    # The first field of a GraphQL mutation (launchRun, wipeAssets, ...) in a JSON body.
    map $request_body $door_view_mutation {{
        "{MUTATION_REGEX}" $1;
        default "";
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        "" close;
    }}

    upstream door_check {{
        server unix:{profile.door_socket};
    }}

    proxy_http_version 1.1;
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_read_timeout 1h;  # the webservers' and the dashboard's websockets
    proxy_buffering off;

    server {{
        listen {listen}{" ssl" if tls else ""};
{server_tls}

        location = {CHECK_LOCATION} {{
            internal;
            proxy_pass http://door_check/check;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Door-Route $door_route;
            proxy_set_header X-Door-Client $remote_addr;
            proxy_set_header X-Door-Action "$request_method $request_uri";
            proxy_set_header Authorization $http_authorization;
            access_log off;
        }}

        location @door_refused {{
            default_type text/plain;
            access_log {profile.log_dir / "proxy-access.log"} door;
            if ($door_reason = locked) {{
                add_header Retry-After $door_retry always;
                return 429 "too many failed logins from your address: try again in $door_retry s\\n";
            }}
            return 403 "your role may not use this page (viewers: /view/)\\n";
        }}

{_indent(locations, 8)}
    }}
}}
"""


def _indent(text: str, n: int) -> str:
    return "\n".join((" " * n + line) if line else line for line in text.splitlines())
