//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the JSON API,
//! generated from the handlers' `#[utoipa::path]` attributes and the
//! wire types' schemas. It holds no data, so it needs no token.
//!
//! To describe a new endpoint: give its handler a `#[utoipa::path]`
//! attribute with its own answers (200 and the 4xx it decides itself),
//! derive `ToSchema` on its body types, and name the handler in
//! `paths(...)` below. What every route can answer (the protocol check,
//! time-outs and overload; for routes behind a token 401 and 429) is added
//! by [`Common`], so each attribute lists only what its handler decides.

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use sigap_shared::wire::{ErrorBody, MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION};
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, ObjectBuilder, OpenApi as Document, RefOr, Required,
    ResponseBuilder, Type,
};
use utoipa::{Modify, OpenApi, ToSchema};

use super::AppState;

/// The name of the bearer-token security scheme in the document.
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SIGAP API",
        description = "Sync (agents) and supervision (supervisors, admins) API of \
            sigap-server; docs/sync-api.md tells the protocol. Every request and \
            answer carries the protocol version in the `x-sigap-protocol` header; \
            every error is `{\"error\": {\"code\", \"message\"}}`."
    ),
    paths(
        super::healthz,
        super::sync::push,
        super::sync::pull,
        super::sync::device,
        super::sync::device_key,
        super::sync::device_changes,
        super::visits::visits,
        super::coverage::coverage,
        super::history::history,
        super::agents::agents,
        super::conflicts::list,
        super::conflicts::resolve,
        super::persons::person,
        super::persons::move_person,
        super::pdp::export,
        super::pdp::erase,
        super::review::review,
        super::me::me,
        openapi_json,
    ),
    components(schemas(ErrorBody, sigap_shared::Nik, sigap_shared::AreaCode)),
    modifiers(&Common),
    tags(
        (name = "sync", description = "Agents' devices: push changes and visits, pull the feed, read the device log and the replica key."),
        (name = "supervision", description = "Supervisors and admins: coverage and its history, agents, conflicts, persons and their personal data requests, review."),
        (name = "meta", description = "Health, this description and the caller's token."),
    )
)]
struct ApiDoc;

/// The document, as served.
pub fn document() -> Document {
    ApiDoc::openapi()
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(openapi_json))
}

/// This description (OpenAPI 3.1).
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", content_type = "application/json"),
        (status = 400, description = "Bad protocol header.", body = ErrorBody),
    )
)]
async fn openapi_json() -> impl IntoResponse {
    axum::Json(document())
}

/// Adds what every route shares: the bearer scheme, the protocol header
/// and the answers the layers around the handlers give.
struct Common;

impl Modify for Common {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                add_common(op);
            }
        }
    }
}

fn add_common(op: &mut Operation) {
    op.parameters
        .get_or_insert_with(Vec::new)
        .push(protocol_parameter());
    let secured = op.security.is_some();
    let mut common = vec![
        (
            "426",
            format!(
                "The client's protocol (`{PROTOCOL_HEADER}` or the body's `protocol`) is older \
                 than {MIN_PROTOCOL_VERSION}: upgrade sigap (`protocol_too_old`)."
            ),
            false,
        ),
        (
            "503",
            "The request ran past the time limit (`timeout`) or every request slot \
             is taken (`overloaded`, with `Retry-After`): retry."
                .to_string(),
            true,
        ),
    ];
    if secured {
        common.push((
            "401",
            "No `Authorization: Bearer` token, or one that is unknown, revoked or \
             expired (`unauthorized`)."
                .to_string(),
            false,
        ));
        common.push((
            "429",
            "Too many failed sign-ins from this address (`too_many_requests`): wait \
             `Retry-After` seconds."
                .to_string(),
            true,
        ));
    }
    for (status, description, retry_after) in common {
        let mut response = ResponseBuilder::new().description(description).content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(ErrorBody::schema_ref()))
                .build(),
        );
        if retry_after {
            response = response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1)),
                    )
                    .description(Some("Seconds to wait before retrying."))
                    .build(),
            );
        }
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(response.build()));
    }
    // Stamped by the protocol layer, inside the time-out and overload
    // layers: their 503 goes out without it.
    for (status, response) in op.responses.responses.iter_mut() {
        if let (RefOr::T(response), false) = (response, status == "503") {
            response
                .headers
                .entry(PROTOCOL_HEADER.to_string())
                .or_insert_with(|| {
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type(Type::Integer))
                        .description(Some("The protocol this server speaks."))
                        .build()
                });
        }
    }
}

/// The optional protocol header every request may carry.
fn protocol_parameter() -> Parameter {
    ParameterBuilder::new()
        .name(PROTOCOL_HEADER)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(format!(
            "The client's protocol version ({MIN_PROTOCOL_VERSION} to {PROTOCOL_VERSION}); \
             a newer one is refused with 400 `protocol_too_new`, an older one with 426."
        )))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(MIN_PROTOCOL_VERSION))
                .maximum(Some(PROTOCOL_VERSION)),
        ))
        .build()
}

/// A `$ref` to a named schema.
trait SchemaRef {
    fn schema_ref() -> RefOr<utoipa::openapi::schema::Schema>;
}

impl<T: ToSchema> SchemaRef for T {
    fn schema_ref() -> RefOr<utoipa::openapi::schema::Schema> {
        RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()))
    }
}
