//! The OpenAPI 3.1 document of the native API and the Bliss Mixer routes, served at
//! `/v1/openapi.json`. It is written by hand beside the types of `v1.rs`; the tests validate
//! every answer they get against its schemas, so it cannot drift unnoticed.

use axum::Json;
use serde_json::{Value, json};

/// `GET /v1/openapi.json`.
pub async fn document() -> Json<Value> {
    Json(spec())
}

fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

fn body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn ok(schema: &str) -> Value {
    json!({"description": "the answer", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn errors() -> Value {
    let e = json!({"description": "an error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    json!({"400": e, "401": e, "404": e, "413": {"description": "the body is too large"}, "422": e, "500": e})
}

fn text_answer() -> Value {
    json!({"200": {"description": "one track a line, relative to its music folder; empty for an unknown seed", "content": {"text/plain; charset=utf-8": {"schema": {"type": "string"}}}}, "400": {"description": "malformed JSON or a missing field (text)"}})
}

/// The document.
pub fn spec() -> Value {
    let mut e = errors();
    let with = |ok_schema: &str, mut e: Value| {
        e["200"] = ok(ok_schema);
        e
    };
    let rules = json!({
        "type": "object", "additionalProperties": false,
        "properties": {
            "max_per_artist": nullable("integer"), "max_per_album": nullable("integer"),
            "min_artist_gap": {"type": "integer", "minimum": 0},
            "min_duration": nullable("number"), "max_duration": nullable("number"),
            "genre": {"type": "array", "items": {"type": "string"}},
            "not_genre": {"type": "array", "items": {"type": "string"}},
            "year_from": nullable("integer"), "year_to": nullable("integer"),
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
            "exclude": {"type": "array", "items": {"type": "string"}, "maxItems": 10000}
        }
    });
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let flag = json!({"type": ["integer", "boolean"]});
    e["202"] = ok("IndexJob");
    e["409"] = e["400"].clone();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "sonority",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Songs that sound like this one. Tracks are named by their path relative to a music folder of the library (a CUE sheet's tracks as SHEET.cue/trackNNNN). With a token set, every route needs `Authorization: Bearer TOKEN`."
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string", "enum": ["bad_request", "unknown_track", "cannot_answer", "internal", "index_running", "unauthorized"]}, "message": {"type": "string"}}}}},
                "Track": {"type": "object", "required": ["name", "title", "artist", "album_artist", "album", "disc", "track", "genre", "year", "duration_s"],
                    "properties": {"name": {"type": "string"}, "title": nullable("string"), "artist": nullable("string"),
                        "album_artist": nullable("string"), "album": nullable("string"), "disc": nullable("integer"),
                        "track": nullable("integer"), "genre": nullable("string"), "year": nullable("integer"),
                        "duration_s": nullable("number"), "score": {"type": "number", "minimum": -1.0001, "maximum": 1.0001}}},
                "Tracks": {"type": "object", "required": ["tracks", "elapsed_ms"], "properties": {
                    "tracks": {"type": "array", "items": {"$ref": "#/components/schemas/Track"}}, "elapsed_ms": {"type": "number"}}},
                "Album": {"type": "object", "required": ["name", "artist", "score", "tracks"], "properties": {
                    "name": nullable("string"), "artist": nullable("string"), "score": {"type": "number"},
                    "tracks": {"type": "array", "items": {"$ref": "#/components/schemas/Track"}}}},
                "Albums": {"type": "object", "required": ["albums", "elapsed_ms"], "properties": {
                    "albums": {"type": "array", "items": {"$ref": "#/components/schemas/Album"}}, "elapsed_ms": {"type": "number"}}},
                "IndexJob": {"type": "object", "required": ["running", "total", "done", "failed", "runs", "last"], "properties": {
                    "running": {"type": "boolean"}, "total": {"type": "integer"}, "done": {"type": "integer"},
                    "failed": {"type": "integer"}, "runs": {"type": "integer"}, "last": nullable("string")}},
                "Status": {"type": "object", "required": ["model", "fingerprint", "tracks", "albums", "hours", "folders", "failures", "index", "uptime_s"], "properties": {
                    "model": {"type": "string"}, "fingerprint": {"type": "string"}, "tracks": {"type": "integer"},
                    "albums": {"type": "integer"}, "hours": {"type": "number"}, "failures": {"type": "integer"},
                    "folders": {"type": "array", "items": {"type": "object", "required": ["path", "indexed_at_unix_s"], "properties": {"path": {"type": "string"}, "indexed_at_unix_s": {"type": "integer"}}}},
                    "index": {"$ref": "#/components/schemas/IndexJob"}, "uptime_s": {"type": "number"}}},
                "Rules": rules,
                "SimilarRequest": {"type": "object", "additionalProperties": false, "required": ["tracks"], "properties": {
                    "tracks": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 100},
                    "count": {"type": "integer", "minimum": 0, "maximum": 500, "default": 10},
                    "exclude_album": {"type": "boolean", "default": false}, "exclude": strings}},
                "PlaylistRequest": {"type": "object", "additionalProperties": false, "required": ["seeds"], "properties": {
                    "seeds": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 100},
                    "count": {"type": "integer", "minimum": 0, "maximum": 500, "default": 20},
                    "walk": {"type": "boolean", "default": false}, "seed_weight": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.3},
                    "rules": {"$ref": "#/components/schemas/Rules"}}},
                "PathRequest": {"type": "object", "additionalProperties": false, "required": ["from", "to"], "properties": {
                    "from": {"type": "string"}, "to": {"type": "string"}, "count": {"type": "integer", "minimum": 2, "maximum": 500, "default": 10},
                    "rules": {"$ref": "#/components/schemas/Rules"}}},
                "AlbumsRequest": {"type": "object", "additionalProperties": false, "required": ["track"], "properties": {
                    "track": {"type": "string"}, "count": {"type": "integer", "minimum": 0, "maximum": 100, "default": 5},
                    "with_self": {"type": "boolean", "default": false}}},
                "MixRequest": {"type": "object", "required": ["tracks", "genregroups"], "properties": {
                    "tracks": strings, "previous": strings, "count": {"type": "integer", "default": 5, "description": "clamped to 1..50"},
                    "filtergenre": flag, "filterxmas": flag, "shuffle": flag, "forest": flag, "adaptiveweights": flag, "allgenres": flag, "debug": flag,
                    "min": {"type": "number"}, "max": {"type": "number"}, "maxbpmdiff": {"type": "number"},
                    "norepart": {"type": "integer"}, "norepalb": {"type": "integer"},
                    "genregroups": {"type": "array", "items": strings}}},
                "ListRequest": {"type": "object", "required": ["track", "genregroups", "byartist"], "properties": {
                    "track": {"type": "string"}, "count": {"type": "integer", "default": 5}, "filtergenre": flag,
                    "min": {"type": "number"}, "max": {"type": "number"}, "maxbpmdiff": {"type": "number"},
                    "genregroups": {"type": "array", "items": strings}, "byartist": flag}}
            }
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/similar": {"post": {"summary": "the tracks most like the seeds", "requestBody": body("SimilarRequest"), "responses": with("Tracks", errors())}},
            "/v1/playlist": {"post": {"summary": "a playlist from seeds with caps, gaps, filters, exclusions", "requestBody": body("PlaylistRequest"), "responses": with("Tracks", errors())}},
            "/v1/path": {"post": {"summary": "tracks from one track to another in even steps", "requestBody": body("PathRequest"), "responses": with("Tracks", errors())}},
            "/v1/albums": {"post": {"summary": "the albums most like the album of a track", "requestBody": body("AlbumsRequest"), "responses": with("Albums", errors())}},
            "/v1/track": {"get": {"summary": "one track's record", "parameters": [{"name": "name", "in": "query", "required": true, "schema": {"type": "string"}}], "responses": with("Track", errors())}},
            "/v1/status": {"get": {"summary": "what the library holds", "responses": with("Status", errors())}},
            "/v1/index": {
                "post": {"summary": "start an incremental index run of every music folder (409 while one runs)", "responses": e},
                "get": {"summary": "the index run's progress", "responses": with("IndexJob", errors())}
            },
            "/v1/openapi.json": {"get": {"summary": "this document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/api/mix": {"post": {"summary": "Bliss Mixer: tracks to follow the seeds", "requestBody": body("MixRequest"), "responses": text_answer()}},
            "/api/list": {"post": {"summary": "Bliss Mixer: tracks like one track", "requestBody": body("ListRequest"), "responses": text_answer()}},
            "/api/ready": {"get": {"summary": "Bliss Mixer: the server answers", "responses": {"200": {"description": "ready"}}}}
        }
    })
}
