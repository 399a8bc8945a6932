#!/usr/bin/env python3
"""A throwaway OpenStack Placement service for capreg's tests and benches: PyPI's openstack-placement
(its WSGI application, placement.wsgi.api:application), a SQLite database, auth_strategy noauth2 (the
token `admin` is an admin), served on loopback by a threading wsgiref server.

    throwaway-placement.py DIR          # writes DIR/placement.conf and DIR/placement.sqlite, syncs the
                                        # schema, prints `listening on 127.0.0.1:PORT`, serves until killed
                                        # (its request log in DIR/placement.log)

Needs `pip install openstack-placement` (16.0.0 installs no placement-api script: this is its server).
"""
import os, signal, socketserver, subprocess, sys, wsgiref.simple_server

# A parent may start us with SIGTERM blocked (a thread's mask is inherited across exec): stop on it regardless.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

directory = os.path.abspath(sys.argv[1])
os.makedirs(directory, exist_ok=True)
with open(os.path.join(directory, "placement.conf"), "w") as conf:
    conf.write(f"""[DEFAULT]
debug = False
[api]
auth_strategy = noauth2
[placement_database]
connection = sqlite:///{directory}/placement.sqlite
""")
os.environ["OS_PLACEMENT_CONFIG_DIR"] = directory
manage = os.path.join(os.path.dirname(sys.executable), "placement-manage")
subprocess.run([manage, "--config-file", os.path.join(directory, "placement.conf"), "db", "sync"], check=True, stdout=subprocess.DEVNULL)

from placement.wsgi import api  # noqa: E402  (reads the configuration above)


class Quiet(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True


server = wsgiref.simple_server.make_server("127.0.0.1", 0, api.application, server_class=Server, handler_class=Quiet)
print(f"listening on 127.0.0.1:{server.server_port}", flush=True)
# From here on Placement's request log goes to DIR/placement.log: a parent that reads only the line above
# must not find us blocked on a full pipe.
log = os.open(os.path.join(directory, "placement.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
os.dup2(log, 1)
os.dup2(log, 2)
server.serve_forever()
