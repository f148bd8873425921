//! Form bodies with the dashboard's errors: a body that does not parse is
//! a 400 page, not axum's plain-text answer.

use axum::extract::{Form, FromRequest, Request};
use serde::de::DeserializeOwned;

use super::errors::WebError;

pub struct WebForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for WebForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, WebError> {
        match Form::<T>::from_request(req, state).await {
            Ok(Form(v)) => Ok(WebForm(v)),
            Err(e) => Err(WebError::bad("err-form", e.body_text())),
        }
    }
}
