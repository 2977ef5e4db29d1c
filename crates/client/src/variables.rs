//! Variables and secrets (`/variable`), and a service's effective variables.

use reqwest::Method;
use slipway_api_types::{
    EffectiveVariable, VariableAliasRequest, VariableEditRequest, VariableImport, VariableImportRequest,
    VariableOverrideRequest, VariableRequest, VariableResponse,
};
use slipway_model::ServiceType;
use slipway_model::variable::VariableScope;
use uuid::Uuid;

use crate::{Client, Error};

impl Client {
    /// What a project, environment or service sees (`GET /variable`): its
    /// own variables, those of broader scopes and the built-ins; secrets
    /// without their value.
    pub async fn list_variables(&self, scope: VariableScope, parent: Uuid) -> Result<Vec<VariableResponse>, Error> {
        self.list(&format!("/variable?parent_id={parent}&scope={}", scope.as_str())).await
    }

    /// Creates a variable (`POST /variable`).
    pub async fn create_variable(&self, request: &VariableRequest) -> Result<VariableResponse, Error> {
        self.send(Method::POST, "/variable", Some(request)).await
    }

    /// Edits a variable (`PUT /variable/{id}`).
    pub async fn edit_variable(&self, id: Uuid, request: &VariableEditRequest) -> Result<VariableResponse, Error> {
        self.send(Method::PUT, &format!("/variable/{id}"), Some(request)).await
    }

    /// Deletes a variable with its aliases and overrides (`DELETE /variable/{id}`).
    pub async fn delete_variable(&self, id: Uuid) -> Result<(), Error> {
        self.delete(&format!("/variable/{id}")).await
    }

    /// Gives a variable another name (`POST /variable/{id}/alias`).
    pub async fn create_variable_alias(
        &self,
        target: Uuid,
        request: &VariableAliasRequest,
    ) -> Result<VariableResponse, Error> {
        self.send(Method::POST, &format!("/variable/{target}/alias"), Some(request)).await
    }

    /// Replaces a broader scope's value (`POST /variable/{id}/override`).
    pub async fn create_variable_override(
        &self,
        target: Uuid,
        request: &VariableOverrideRequest,
    ) -> Result<VariableResponse, Error> {
        self.send(Method::POST, &format!("/variable/{target}/override"), Some(request)).await
    }

    /// Imports variables for a service, its environment and its project,
    /// all or none (`POST /variable/import`).
    pub async fn import_variables(
        &self,
        service: Uuid,
        kind: ServiceType,
        request: &VariableImportRequest,
    ) -> Result<VariableImport, Error> {
        let path = format!("/variable/import?service_id={service}&service_type={}", kind.as_str());
        self.send(Method::POST, &path, Some(request)).await
    }

    /// The variables a service runs with if deployed now, secrets masked
    /// (`GET /service/{id}/effectiveVariable`).
    pub async fn effective_variables(&self, service: Uuid) -> Result<Vec<EffectiveVariable>, Error> {
        self.list(&format!("/service/{service}/effectiveVariable")).await
    }
}
