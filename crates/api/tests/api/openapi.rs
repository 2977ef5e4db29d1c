//! The API document must not drift silently: a snapshot pins it, and the
//! contract's operations must all be in it.

#[test]
fn openapi_document_matches_its_snapshot() {
    let doc = serde_json::to_value(slipway_api::openapi()).unwrap();
    insta::assert_json_snapshot!("openapi", doc);
}

#[test]
fn every_contract_operation_is_documented() {
    let doc = serde_json::to_value(slipway_api::openapi()).unwrap();
    let mut ops = std::collections::HashSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            if let Some(id) = op["operationId"].as_str() {
                assert!(ops.insert(id.to_owned()), "duplicate operationId {id}");
            }
        }
    }
    for expected in [
        "listOrganization",
        "getOrganization",
        "getAccountInformation",
        "listOrganizationCluster",
        "getOrganizationClusterStatus",
        "getClusterStatus",
        "listContainerRegistry",
        "createContainerRegistry",
        "listProject",
        "createProject",
        "getProject",
        "editProject",
        "deleteProject",
        "listEnvironment",
        "createEnvironment",
        "getProjectEnvironmentsStatus",
        "getEnvironment",
        "editEnvironment",
        "deleteEnvironment",
        "getEnvironmentStatus",
        "getEnvironmentStatuses",
        "listServicesByEnvironmentId",
        "createApplication",
        "listApplication",
        "getApplication",
        "editApplication",
        "deleteApplication",
        "getApplicationStatus",
        "createContainer",
        "listContainer",
        "getContainer",
        "editContainer",
        "deleteContainer",
        "getContainerStatus",
        "createDatabase",
        "listDatabase",
        "getDatabase",
        "editDatabase",
        "deleteDatabase",
        "getDatabaseStatus",
        "createJob",
        "listJobs",
        "getJob",
        "editJob",
        "deleteJob",
        "getJobStatus",
        "createHelm",
        "listHelms",
        "getHelm",
        "editHelm",
        "deleteHelm",
        "getHelmStatus",
        "createTerraform",
        "listTerraforms",
        "getTerraform",
        "editTerraform",
        "deleteTerraform",
        "listOrganizationApiTokens",
        "createOrganizationApiToken",
        "deleteOrganizationApiToken",
        "listOrganizationAvailableRoles",
    ] {
        assert!(ops.contains(expected), "{expected} missing from the OpenAPI document");
    }
}
