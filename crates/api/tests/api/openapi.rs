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
        "getEnvironmentStatusesWithStages",
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
        // Environment actions, history, logs and stages.
        "deployEnvironment",
        "redeployEnvironment",
        "stopEnvironment",
        "rebootServices",
        "deployAllServices",
        "stopSelectedServices",
        "cancelEnvironmentDeployment",
        "uninstallEnvironment",
        "listEnvironmentDeploymentHistory",
        "listEnvironmentDeploymentHistoryV2",
        "getDeploymentStatusByDeploymentRequestId",
        "listDeploymentRequestByEnvironmentId",
        "listEnvironmentLogs",
        "listEnvironmentLog",
        "listEnvironmentDeploymentStage",
        "createEnvironmentDeploymentStage",
        "getDeploymentStage",
        "editDeploymentStage",
        "deleteDeploymentStage",
        "attachServiceToDeploymentStage",
        "moveAfterDeploymentStage",
        "moveBeforeDeploymentStage",
        "getServiceDeploymentStage",
        // Service actions, history, links and logs.
        "deployApplication",
        "redeployApplication",
        "stopApplication",
        "rebootApplication",
        "uninstallApplication",
        "listApplicationDeploymentHistoryV2",
        "listApplicationLinks",
        "listApplicationLog",
        "deployContainer",
        "redeployContainer",
        "stopContainer",
        "rebootContainer",
        "uninstallContainer",
        "listContainerDeploymentHistoryV2",
        "listContainerLinks",
        "listContainerLog",
        "deployDatabase",
        "redeployDatabase",
        "stopDatabase",
        "rebootDatabase",
        "uninstallDatabase",
        "listDatabaseDeploymentHistoryV2",
        "deployJob",
        "redeployJob",
        "stopJob",
        "uninstallJob",
        "listJobDeploymentHistoryV2",
        "deployHelm",
        "redeployHelm",
        "stopHelm",
        "uninstallHelm",
        "listHelmDeploymentHistoryV2",
        "listHelmLinks",
        "deployTerraform",
        "redeployTerraform",
        "uninstallTerraform",
        "listTerraformDeploymentHistoryV2",
        // Variables, secrets and database credentials.
        "listVariables",
        "createVariable",
        "editVariable",
        "deleteVariable",
        "createVariableAlias",
        "createVariableOverride",
        "importEnvironmentVariables",
        "getDatabaseMasterCredentials",
        "listDatabaseVersion",
        "listProjectEnvironmentVariable",
        "createEnvironmentEnvironmentVariable",
        "editApplicationEnvironmentVariable",
        "deleteContainerEnvironmentVariable",
        "createJobEnvironmentVariableAlias",
        "createApplicationEnvironmentVariableOverride",
        "listProjectSecrets",
        "createApplicationSecret",
        "editEnvironmentSecret",
        "deleteJobSecret",
        "createContainerSecretAlias",
        "createEnvironmentSecretOverride",
        // Slipway's own.
        "getDeployment",
        "streamDeploymentLogs",
        "listApplicationReleases",
        "rollbackApplication",
        "streamApplicationLogs",
        "listEffectiveVariables",
    ] {
        assert!(ops.contains(expected), "{expected} missing from the OpenAPI document");
    }
}

#[test]
fn every_schema_reference_resolves() {
    let doc = serde_json::to_value(slipway_api::openapi()).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let text = doc.to_string();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = &reference[..reference.find('"').unwrap()];
        assert!(schemas.contains_key(name), "{name} is referenced but not in the document");
    }
}
