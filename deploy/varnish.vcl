# Varnish in front of stepstream: several app replicas, one Server-Sent Events
# stream per job. Run it as `varnishd -f /path/to/varnish.vcl -a :80`
# (tested with Varnish 7.1; it needs sess.send_timeout writable from VCL).
#
# The values a deployment changes, and the only ones the test suite
# (tests/proxies.py) substitutes when it runs this very file:
#   - `.host = "appN";` and `.port = "8000";`   one backend per replica.
# Every replica must run with the same STEPSTREAM_SECRET_KEY, so that any of
# them can resume a stream that another one started. See docs/deploy.md.

vcl 4.1;

import directors;

# A replica found dead is out of rotation within a second or two.
probe healthz {
    .url = "/healthz";
    .interval = 1s;
    .timeout = 1s;
    .window = 2;
    .threshold = 1;
}

# between_bytes_timeout is the longest silence accepted from a replica. The
# app sends a heartbeat comment every STEPSTREAM_HEARTBEAT seconds (default
# 15), also while one step runs for hours: keep it well under it.
# first_byte_timeout bounds a POST .../steps batch too: it must stay above
# STEPSTREAM_STEP_BUDGET plus one step, or every batch is a 503.
backend app1 {
    .host = "app1";
    .port = "8000";
    .probe = healthz;
    .connect_timeout = 2s;
    .first_byte_timeout = 60s;
    .between_bytes_timeout = 60s;
}

backend app2 {
    .host = "app2";
    .port = "8000";
    .probe = healthz;
    .connect_timeout = 2s;
    .first_byte_timeout = 60s;
    .between_bytes_timeout = 60s;
}

sub vcl_init {
    new replicas = directors.round_robin();
    replicas.add_backend(app1);
    replicas.add_backend(app2);
}

sub vcl_recv {
    set req.backend_hint = replicas.backend();
    # Nothing the app answers may be cached or coalesced: a stream is
    # personal and endless, a 204 or 410 for one client is not another's.
    # (The app says `Cache-Control: no-store` too; pass skips the cache
    # and the request coalescing that would queue a second viewer behind
    # the first stream.)
    if (req.url ~ "^/api/" || req.url ~ "^/(healthz|metrics)(\?|$)") {
        return (pass);
    }
}

sub vcl_backend_fetch {
    # On a retry, let the director pick again (a dead replica is skipped).
    if (bereq.retries > 0) {
        set bereq.backend = replicas.backend();
    }
}

sub vcl_backend_response {
    if (beresp.http.Content-Type ~ "^text/event-stream") {
        set beresp.do_stream = true;
        set beresp.do_gzip = false;
    }
}

# A replica that died before its probe noticed refuses the connection: try
# another one once, instead of answering 503 (a browser's EventSource gives
# up for good on a 503).
sub vcl_backend_error {
    if (bereq.retries < 1) {
        return (retry);
    }
}

sub vcl_deliver {
    # send_timeout (default 600 s) caps the whole of a response, heartbeats or
    # not: an event stream gets a day instead. STEPSTREAM_MAX_STREAM_SECONDS
    # under it ends a longer one between steps, and the client resumes.
    if (resp.http.Content-Type ~ "^text/event-stream") {
        set sess.send_timeout = 86400s;
    }
}
