"""The template's abuse limits, checked on what SAM really deploys (samtranslator, offline).

sam validate and cfn-lint check that the template is valid, not that it protects anything:
this checks that the HTTP API stage throttles every route, that every route that checks a
password has its own tighter limit, that the login function's concurrency has a ceiling, that
every function has the CORS_ALLOW_ORIGIN its cross-site check reads, and that only this stack's
secret may invoke the rotation function. Exit 1 with one line per finding.
"""
import re
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

# Routes whose requests carry a password: each needs a RouteSettings throttle of its own.
CREDENTIAL_ROUTES = {"POST /auth/login", "POST /auth/register", "POST /auth/password"}


class NoManagedPolicies:
    def load(self):
        return {}


def main(path):
    # samtranslator wants S3 code locations; SAM CLI substitutes them at build time.
    text = re.sub(r"CodeUri: \.", "CodeUri: s3://bucket/key", open(path).read())
    resources = transform(yaml_parse(text), {}, NoManagedPolicies())["Resources"]
    problems = []

    routes = set()
    for r in resources.values():
        if r["Type"] == "AWS::ApiGatewayV2::Api":
            for path_, methods in r["Properties"].get("Body", {}).get("paths", {}).items():
                routes |= {f"{m.upper()} {path_}" for m in methods if m != "options"}
    stages = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    if not stages:
        problems.append("no HTTP API stage")
    for stage in stages:
        default = stage.get("DefaultRouteSettings", {})
        for key in ("ThrottlingRateLimit", "ThrottlingBurstLimit"):
            if key not in default:
                problems.append(f"stage DefaultRouteSettings lacks {key}")
        settings = stage.get("RouteSettings", {})
        for route in sorted(routes & CREDENTIAL_ROUTES):
            if not {"ThrottlingRateLimit", "ThrottlingBurstLimit"} <= set(settings.get(route, {})):
                problems.append(f"credential route {route} has no throttle of its own")
        for route in settings:
            if route not in routes:
                problems.append(f"RouteSettings names {route}, which is not a route")

    login = resources.get("LoginFunction", {}).get("Properties", {})
    if "ReservedConcurrentExecutions" not in login:
        problems.append("the login function has no reserved concurrency")

    for name, r in resources.items():
        if r["Type"] == "AWS::Lambda::Function":
            env = r["Properties"].get("Environment", {}).get("Variables", {})
            if "CORS_ALLOW_ORIGIN" not in env:
                problems.append(f"{name} lacks CORS_ALLOW_ORIGIN")
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"].get("Principal", "").startswith("secretsmanager"):
            if "SourceArn" not in r["Properties"]:
                problems.append(f"{name} lets any secret's rotation invoke it (no SourceArn)")

    for p in problems:
        print(f"check-template: {p}")
    if problems:
        return 1
    print(f"check-template: {len(routes)} routes; stage and credential-route throttles, login ceiling, CORS variable, rotation SourceArn present")
    return 0


def consumer(path):
    """examples/consumer-api.yaml: another stack's API attaches the exported authorizer, API
    Gateway may invoke it, and every route of that API is behind it."""
    resources = transform(yaml_parse(open(path).read()), {"AuthStackName": "auth"}, NoManagedPolicies())["Resources"]
    imported = {"Fn::ImportValue": {"Fn::Sub": "${AuthStackName}-AuthorizerFunctionArn"}}
    problems = []
    permissions = [r for r in resources.values()
                   if r["Type"] == "AWS::Lambda::Permission" and r["Properties"].get("FunctionName") == imported]
    if not permissions:
        problems.append("no permission for API Gateway to invoke the imported authorizer")
    for r in resources.values():
        if r["Type"] == "AWS::ApiGatewayV2::Api":
            body = r["Properties"].get("Body", {})
            schemes = body.get("components", {}).get("securitySchemes", {})
            if not any(imported == s.get("x-amazon-apigateway-authorizer", {}).get("authorizerUri", {}).get("Fn::Sub", [None, {}])[1].get("__FunctionArn__")
                       for s in schemes.values()):
                problems.append("the API's authorizer is not the imported one")
            for path_, methods in body.get("paths", {}).items():
                for m, op in methods.items():
                    if m != "options" and not op.get("security"):
                        problems.append(f"{m.upper()} {path_} is not behind the authorizer")
    for p in problems:
        print(f"check-template: {path}: {p}")
    if problems:
        return 1
    print(f"check-template: {path}: the imported authorizer guards every route and may be invoked")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--consumer":
        sys.exit(consumer(sys.argv[2]))
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml"))
