"""The template's abuse limits, checked on what SAM really deploys (samtranslator, offline).

sam validate and cfn-lint check that the template is valid, not that it protects anything:
this checks that the HTTP API stage throttles every route, that every route that checks a
password has its own tighter limit, that the login function's concurrency has a ceiling, that
every function has the CORS_ALLOW_ORIGIN its cross-site check reads, that only this stack's
secret may invoke the rotation function, and, with SigningAlg HS256 and with an asymmetric one
(its conditions resolved), which secret each function may read: in an asymmetric mode the
authorizer and the discovery function reach the public keys only. Exit 1 with one line per
finding.
"""
import re
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

# Routes whose requests carry a password: each needs a RouteSettings throttle of its own.
CREDENTIAL_ROUTES = {"POST /auth/login", "POST /auth/register", "POST /auth/password",
                     "POST /auth/email", "POST /auth/password/reset", "POST /auth/password/forgot",
                     # A code is a credential too (a wrong one is a failed login).
                     "POST /auth/login/mfa", "POST /auth/mfa/totp", "DELETE /auth/mfa/totp",
                     "POST /auth/mfa/totp/confirm", "POST /auth/mfa/recovery-codes",
                     # A passkey sign-in begins a session; a registration adds a credential.
                     "POST /auth/passkeys/login", "POST /auth/passkeys/register",
                     # A callback begins a session (or an account).
                     "GET /auth/oauth/{provider}/callback"}


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
            for var in ("CORS_ALLOW_ORIGIN", "COOKIE_SAMESITE", "COOKIE_DOMAIN"):
                if var not in env:
                    problems.append(f"{name} lacks {var}")
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"].get("Principal", "").startswith("secretsmanager"):
            if "SourceArn" not in r["Properties"]:
                problems.append(f"{name} lets any secret's rotation invoke it (no SourceArn)")

    for asymmetric in (False, True):
        problems += secret_access(resources, asymmetric)
    for checks in (False, True):
        problems += authorizer_dynamodb(resources, checks)
    for jwt in (False, True):
        problems += protected_routes(resources, jwt)
    problems += operating(resources)
    problems += forwarder_scope(resources)
    problems += users_table_writes(resources)
    for mail in (False, True):
        problems += mail_scope(resources, mail)

    return report(problems, "", f"{len(routes)} routes; stage and credential-route throttles, login ceiling, CORS variable, rotation SourceArn present; secret access per SigningAlg")


def report(problems, prefix, ok):
    """Prints each problem (or the one line saying what holds); the exit status."""
    for p in problems:
        print(f"check-template: {prefix}{p}")
    if problems:
        return 1
    print(f"check-template: {prefix}{ok}")
    return 0


def resolve(node, conditions):
    """The value CloudFormation deploys under `conditions`: Fn::If picked, AWS::NoValue gone."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            cond, yes, no = node["Fn::If"]
            return resolve(yes if conditions[cond] else no, conditions)
        out = {k: resolve(v, conditions) for k, v in node.items()}
        return {k: v for k, v in out.items() if v != {"Ref": "AWS::NoValue"}}
    if isinstance(node, list):
        return [resolve(v, conditions) for v in node if resolve(v, conditions) != {"Ref": "AWS::NoValue"}]
    return node


# Which secrets each function may read (R) or write (W), per mode. Anything else is a finding.
SECRETS = {
    False: {"Authorizer": {"SigningSecret": "R"}, "Discovery": {},
            "Login": {"SigningSecret": "R", "MfaKeySecret": "R"},
            "Refresh": {"SigningSecret": "R"}, "Register": {"SigningSecret": "R"},
            "Passkeys": {"SigningSecret": "R"}, "Oauth": {"SigningSecret": "R"},
            "Account": {"MfaKeySecret": "R"}, "Logout": {}, "Hello": {},
            "RotateSecret": {"SigningSecret": "RW"}},
    True: {"Authorizer": {"PublicKeysSecret": "R"}, "Discovery": {"PublicKeysSecret": "R"},
           "Login": {"SigningSecret": "R", "MfaKeySecret": "R"}, "Refresh": {"SigningSecret": "R"},
           "Register": {"SigningSecret": "R"}, "Passkeys": {"SigningSecret": "R"},
           "Oauth": {"SigningSecret": "R"}, "Account": {"MfaKeySecret": "R"}, "Logout": {},
           "Hello": {}, "RotateSecret": {"SigningSecret": "RW", "PublicKeysSecret": "RW"}},
}


def revocation_attributes():
    """What the session-checking authorizer projects (REVOCATION_*_ATTRIBUTES in
    shared/src/adapters/dynamodb/revocation.rs), read from the code so the two cannot drift."""
    import pathlib
    src = (pathlib.Path(__file__).resolve().parent.parent / "shared/src/adapters/dynamodb/revocation.rs").read_text()
    attrs = set()
    for block in re.findall(r"pub const REVOCATION_\w+_ATTRIBUTES: &\[&str\] = &\[(.*?)\];", src, re.S):
        attrs |= set(re.findall(r'"([^"]+)"', block))
    return attrs


REVOCATION_ATTRIBUTES = revocation_attributes()


def authorizer_dynamodb(resources, checks):
    """The authorizer reaches DynamoDB only with AuthorizerRevocation session: BatchGetItem,
    limited to REVOCATION_ATTRIBUTES; and API Gateway caches its answers for the short TTL."""
    mode = "session" if checks else "off"
    conditions = {"IsAsymmetric": False, "HasCors": False, "HasLoginReservedConcurrency": True, "HasEmail": True,
                  "ChecksSessions": checks, "UseJwtAuthorizer": False}
    role = resolve(resources.get("AuthorizerFunctionRole", {}), conditions)
    problems = []
    statements = [st for p in role.get("Properties", {}).get("Policies", [])
                  for st in p.get("PolicyDocument", {}).get("Statement", [])
                  if any(str(a).startswith("dynamodb:") for a in (st.get("Action") if isinstance(st.get("Action"), list) else [st.get("Action")]))]
    if not checks and statements:
        problems.append("off: the authorizer may reach DynamoDB")
    if checks:
        if len(statements) != 1 or statements[0].get("Action") != ["dynamodb:BatchGetItem"]:
            problems.append(f"session: the authorizer's DynamoDB access is not one BatchGetItem statement: {statements}")
        else:
            attrs = statements[0].get("Condition", {}).get("ForAllValues:StringEquals", {}).get("dynamodb:Attributes")
            if set(attrs or []) != REVOCATION_ATTRIBUTES:
                problems.append(f"session: the authorizer may read attributes {attrs}")
    api = next((r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Api"), {})
    schemes = resolve(api, conditions).get("Properties", {}).get("Body", {}).get("components", {}).get("securitySchemes", {})
    ttls = [s.get("x-amazon-apigateway-authorizer", {}).get("authorizerResultTtlInSeconds") for s in schemes.values()]
    want = {"Ref": "SessionAuthorizerCacheTtl" if checks else "AuthorizerCacheTtl"}
    if want not in ttls:
        problems.append(f"{mode}: the authorizer cache TTL is {ttls}, expected {want}")
    return problems


ALARMS = {"RefreshReuseAlarm", "LoginLockoutAlarm", "Api5xxRateAlarm", "LambdaErrorsAlarm",
          "LambdaThrottlesAlarm", "DynamoDbThrottleAlarm", "RotationFailedAlarm", "MailFailedAlarm"}
ACCESS_LOG_FIELDS = ("$context.requestId", "$context.routeKey", "$context.status",
                     "$context.responseLatency", "$context.identity.sourceIp", "$context.authorizer.sub")


def operating(resources):
    """Every function's log group exists with a retention; the stage writes a JSON access log
    with the fields the runbook needs; each alarm exists and notifies the optional topic."""
    problems = []
    groups = {json_key(r["Properties"].get("LogGroupName")): r["Properties"] for r in resources.values()
              if r["Type"] == "AWS::Logs::LogGroup"}
    for name, r in resources.items():
        if r["Type"] == "AWS::Lambda::Function":
            group = groups.get(json_key({"Fn::Sub": f"/aws/lambda/${{{name}}}"}))
            if not group or "RetentionInDays" not in group:
                problems.append(f"{name} has no log group with a retention")
    for stage in (r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"):
        log = stage.get("AccessLogSettings", {})
        fmt = log.get("Format", "")
        missing = [f for f in ACCESS_LOG_FIELDS if f not in fmt]
        if not log.get("DestinationArn") or missing or not fmt.startswith("{"):
            problems.append(f"the stage's access log is missing or lacks {missing}")
    import pathlib
    src = (pathlib.Path(__file__).resolve().parent.parent / "shared/src/aws/security_events.rs").read_text()
    forwarded = set(re.findall(r'"([a-z_]+)"', re.search(r"pub const FORWARDED: &\[&str\] = &\[(.*?)\];", src, re.S).group(1)))
    filters = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::SubscriptionFilter"]
    if len(filters) < 6:
        problems.append(f"only {len(filters)} log groups deliver security events")
    for f in filters:
        found = set(re.findall(r'\$\.fields\.event = "([a-z_]+)"', f.get("FilterPattern", "")))
        if found != forwarded:
            problems.append(f"a subscription filter selects {sorted(found)}, the forwarder takes {sorted(forwarded)}")
    for alarm in ALARMS:
        props = resources.get(alarm, {}).get("Properties", {})
        if resources.get(alarm, {}).get("Type") != "AWS::CloudWatch::Alarm":
            problems.append(f"no alarm {alarm}")
        elif "HasAlarmTopic" not in json_key(props.get("AlarmActions")):
            problems.append(f"{alarm} does not notify AlarmTopicArn")
    functions = {name for name, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    for name, r in resources.items():
        if r["Type"] != "AWS::CloudWatch::Alarm":
            continue
        stats = [m for m in r["Properties"].get("Metrics", []) if "MetricStat" in m]
        # CloudWatch's hard limit: a metric-math alarm reads at most 10 metrics.
        if len(stats) > 10:
            problems.append(f"{name} reads {len(stats)} metrics; CloudWatch allows 10")
    # Every API function's errors and throttles are watched: by the metric-math alarm, or (past
    # its 10 metrics) by an alarm of its own on that metric.
    for kind, alarm in (("Errors", "LambdaErrorsAlarm"), ("Throttles", "LambdaThrottlesAlarm")):
        watched = set()
        for name, r in resources.items():
            if r["Type"] != "AWS::CloudWatch::Alarm":
                continue
            props = r["Properties"]
            metrics = [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
            if props.get("MetricName"):
                metrics.append(props)
            watched |= {json_key(d.get("Value")) for m in metrics if m.get("MetricName") == kind
                        and m.get("Namespace") == "AWS/Lambda" for d in m.get("Dimensions", [])}
        missing = sorted(f for f in functions if json_key({"Ref": f}) not in watched
                         and f not in ("RotateSecretFunction", "SecurityEventsFunction"))
        if missing:
            problems.append(f"{alarm} (or one of its own) does not watch {missing}")
    return problems


def forwarder_scope(resources):
    """CloudWatch Logs may invoke the security-event forwarder only for this stack's own log
    groups (a wildcard would let any function of the account forge events), and every
    subscription's log group has its permission."""
    problems = []
    allowed = set()
    for name, r in resources.items():
        props = r["Properties"]
        if r["Type"] != "AWS::Lambda::Permission" or props.get("Principal") != "logs.amazonaws.com":
            continue
        arn = props.get("SourceArn")
        group = arn.get("Fn::GetAtt", [None])[0] if isinstance(arn, dict) else None
        if resources.get(group, {}).get("Type") != "AWS::Logs::LogGroup" or arn.get("Fn::GetAtt")[1] != "Arn":
            problems.append(f"{name} lets logs invoke the forwarder for {arn!r}, not one of this stack's log groups")
        else:
            allowed.add(group)
    for name, r in resources.items():
        if r["Type"] == "AWS::Logs::SubscriptionFilter":
            group = r["Properties"].get("LogGroupName", {}).get("Ref")
            if group not in allowed:
                problems.append(f"{name} delivers {group}, for which the forwarder has no permission")
    return problems


# What each function may write to a user item (UpdateItem), beside the key: a function that
# may update a user may otherwise rewrite its roles or enable it.
USER_WRITES = {
    "Login": {"username", "password_hash", "totp_last_step", "recovery_codes"},
    "Account": {"username", "password_hash", "sessions_cutoff_ms", "kept_session", "verify_token",
                "totp_pending", "totp_secret", "totp_last_step", "recovery_codes", "passkeys"},
    "Register": {"username", "verify_token"},
    "Passkeys": {"username", "passkeys", "sign_count", "state", "last_used_at"},
    "Oauth": {"username", "linked_identities", "identity_providers"},
    "Recovery": {"username", "password_hash", "sessions_cutoff_ms", "kept_session", "email",
                 "email_verified", "verify_token", "reset_token"},
}


# The functions that mail: sign-up (verification), account (a new address), recovery (reset).
MAILERS = {"Register", "Account", "Recovery"}


def mail_scope(resources, mail):
    """With mail on, exactly the mailing functions may call ses:SendEmail, each on the
    EmailIdentity's ARN only; with mail off (HasEmail false), no function may."""
    conditions = {"IsAsymmetric": False, "HasCors": False, "HasLoginReservedConcurrency": True,
                  "ChecksSessions": True, "UseJwtAuthorizer": False, "HasEmail": mail}
    identity = {"Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${EmailIdentity}"}
    problems, senders = [], set()
    for name, r in resources.items():
        if r["Type"] != "AWS::IAM::Role":
            continue
        fn = name[: -len("FunctionRole")] if name.endswith("FunctionRole") else name
        for policy in resolve(r, conditions)["Properties"].get("Policies", []):
            for st in policy.get("PolicyDocument", {}).get("Statement", []):
                actions = st.get("Action", [])
                actions = [actions] if isinstance(actions, str) else actions
                if not any(a.startswith("ses:") or a == "*" for a in actions):
                    continue
                senders.add(fn)
                if set(actions) != {"ses:SendEmail"} or st.get("Resource") != identity:
                    problems.append(f"{fn} may {actions} on {st.get('Resource')!r}, not only ses:SendEmail on the EmailIdentity")
    expected = MAILERS if mail else set()
    if senders != expected:
        problems.append(f"with mail {'on' if mail else 'off'} the functions that may mail are {sorted(senders)}, expected {sorted(expected)}")
    return problems


def users_table_writes(resources):
    """Every UpdateItem on the users table is limited to the attributes that function writes
    (dynamodb:Attributes) and returns nothing beyond them (dynamodb:ReturnValues)."""
    conditions = {"IsAsymmetric": False, "HasCors": False, "HasLoginReservedConcurrency": True, "HasEmail": True,
                  "ChecksSessions": True, "UseJwtAuthorizer": False}
    problems = []
    users = {"Fn::GetAtt": ["UsersTable", "Arn"]}
    for name, r in resources.items():
        if r["Type"] != "AWS::IAM::Role" or not name.endswith("FunctionRole"):
            continue
        fn = name[: -len("FunctionRole")]
        for policy in resolve(r, conditions)["Properties"].get("Policies", []):
            for st in policy.get("PolicyDocument", {}).get("Statement", []):
                actions = st.get("Action", [])
                actions = [actions] if isinstance(actions, str) else actions
                targets = st.get("Resource", [])
                targets = targets if isinstance(targets, list) else [targets]
                if "dynamodb:UpdateItem" not in actions or users not in targets:
                    continue
                cond = st.get("Condition", {})
                attrs = set(cond.get("ForAllValues:StringEquals", {}).get("dynamodb:Attributes", []))
                returns = set(cond.get("StringEqualsIfExists", {}).get("dynamodb:ReturnValues", []))
                if fn not in USER_WRITES:
                    problems.append(f"{fn} may update user items, which it should not")
                elif attrs != USER_WRITES[fn]:
                    problems.append(f"{fn} may update user attributes {sorted(attrs) or 'all'}, expected {sorted(USER_WRITES[fn])}")
                elif not returns or returns - {"NONE", "UPDATED_OLD", "UPDATED_NEW"}:
                    problems.append(f"{fn}'s user updates may return other attributes ({sorted(returns)})")
    return problems


def json_key(node):
    import json
    return json.dumps(node, sort_keys=True)


def protected_routes(resources, jwt):
    """ProtectedRoutesAuthorizer: GET /hello behind the Lambda authorizer, or behind the JWT
    authorizer with the stack's issuer and audience; every other protected route always behind
    the Lambda authorizer; API Gateway may invoke the hello function for GET /hello."""
    mode = "jwt" if jwt else "lambda"
    conditions = {"IsAsymmetric": jwt, "HasCors": False, "HasLoginReservedConcurrency": True, "HasEmail": True,
                  "ChecksSessions": False, "UseJwtAuthorizer": jwt}
    api = next((r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Api"), {})
    body = resolve(api, conditions).get("Properties", {}).get("Body", {})
    problems = []
    hello = body.get("paths", {}).get("/hello", {}).get("get", {}).get("security")
    want = "BuiltInJwtAuthorizer" if jwt else "JwtLambdaAuthorizer"
    if hello != [{want: []}]:
        problems.append(f"{mode}: GET /hello is guarded by {hello}, expected {want}")
    scheme = body.get("components", {}).get("securitySchemes", {}).get("BuiltInJwtAuthorizer", {})
    config = scheme.get("x-amazon-apigateway-authorizer", {}).get("jwtConfiguration", {})
    if jwt and (config.get("issuer") != {"Ref": "TokenIssuer"} or config.get("audience") != [{"Ref": "TokenAudience"}]):
        problems.append(f"jwt: the JWT authorizer does not check the stack's issuer and audience: {config}")
    for path_, methods in body.get("paths", {}).items():
        for m, op in methods.items():
            sec = op.get("security")
            if path_ != "/hello" and sec and sec != [{"JwtLambdaAuthorizer": []}]:
                problems.append(f"{mode}: {m.upper()} {path_} is guarded by {sec}")
    allowed = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"
               and r["Properties"].get("FunctionName") == {"Ref": "HelloFunction"}
               and "GET/hello" in str(r["Properties"].get("SourceArn"))]
    if not allowed:
        problems.append("API Gateway may not invoke the hello function for GET /hello")
    return problems


def secret_access(resources, asymmetric):
    mode = "asymmetric" if asymmetric else "HS256"
    conditions = {"IsAsymmetric": asymmetric, "HasCors": False, "HasLoginReservedConcurrency": True, "HasEmail": True,
                  "ChecksSessions": False, "UseJwtAuthorizer": False}
    problems = []
    for fn, expected in SECRETS[asymmetric].items():
        role = resolve(resources.get(f"{fn}FunctionRole", {}), conditions)
        found = {}
        for policy in role.get("Properties", {}).get("Policies", []):
            for st in policy.get("PolicyDocument", {}).get("Statement", []):
                actions = st.get("Action", [])
                actions = [actions] if isinstance(actions, str) else actions
                resources_ = st.get("Resource", [])
                resources_ = resources_ if isinstance(resources_, list) else [resources_]
                for res in resources_:
                    ref = res.get("Ref") if isinstance(res, dict) else None
                    for a in actions:
                        if a.startswith("secretsmanager:") and ref:
                            kind = "R" if a in ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret") else "W"
                            found[ref] = "".join(sorted(set(found.get(ref, "")) | {kind}))
                        elif a.startswith("secretsmanager:"):
                            # Secrets named by ARN pattern: only the oauth function's client
                            # secrets, read-only, under their prefix.
                            pattern = json_key(res)
                            if fn != "Oauth" or a != "secretsmanager:GetSecretValue" \
                                    or ":secret:${OidcClientSecretPrefix}*" not in pattern:
                                problems.append(f"{mode}: {fn} may {a} on {pattern}")
                            else:
                                found["client secrets"] = "R"
        if fn == "Oauth":
            expected = {**expected, "client secrets": "R"}
        if found != expected:
            problems.append(f"{mode}: {fn} may reach secrets {found}, expected {expected}")
        env = resolve(resources.get(f"{fn}Function", {}), conditions).get("Properties", {}).get("Environment", {}).get("Variables", {})
        if "SIGNING_ALG" not in env or asymmetric != ("PUBLIC_KEYS_SECRET_ID" in env):
            problems.append(f"{mode}: {fn} lacks SIGNING_ALG or has the wrong PUBLIC_KEYS_SECRET_ID")
    rotation = resolve(resources.get("SigningSecretRotation", {}), conditions)
    if rotation.get("Properties", {}).get("RotateImmediatelyOnUpdate") is not asymmetric:
        problems.append(f"{mode}: the first rotation must run at deploy exactly in asymmetric modes")
    return problems


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
    return report(problems, f"{path}: ", "the imported authorizer guards every route and may be invoked")


def consumer_jwt(path):
    """examples/consumer-api-jwt.yaml: API Gateway's JWT authorizer, configured with the auth
    stack's exported issuer, guards every route."""
    resources = transform(yaml_parse(open(path).read()), {"AuthStackName": "auth"}, NoManagedPolicies())["Resources"]
    imported = {"Fn::ImportValue": {"Fn::Sub": "${AuthStackName}-Issuer"}}
    problems = []
    apis = [r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    for r in apis:
        body = r["Properties"].get("Body", {})
        schemes = body.get("components", {}).get("securitySchemes", {})
        jwt = [s for s in schemes.values() if s.get("x-amazon-apigateway-authorizer", {}).get("type") == "jwt"]
        if not any(s["x-amazon-apigateway-authorizer"].get("jwtConfiguration", {}).get("issuer") == imported for s in jwt):
            problems.append("no JWT authorizer with the imported issuer")
        for path_, methods in body.get("paths", {}).items():
            for m, op in methods.items():
                if m != "options" and not op.get("security"):
                    problems.append(f"{m.upper()} {path_} is not behind the JWT authorizer")
    if not apis:
        problems.append("no HTTP API")
    return report(problems, f"{path}: ", "the JWT authorizer with the imported issuer guards every route")


def openapi_in_step(template_path, openapi_path):
    """openapi.yaml documents exactly the routes the template's HTTP API and the dev server's
    router serve (ROUTE_KEYS in tools/devserver/src/router.rs), and each protected route (behind
    an authorizer in the template, `*` in the router) carries the bearer security."""
    import pathlib
    root = pathlib.Path(__file__).resolve().parent.parent
    text = re.sub(r"CodeUri: \.", "CodeUri: s3://bucket/key", open(template_path).read())
    resources = transform(yaml_parse(text), {}, NoManagedPolicies())["Resources"]
    template = {}
    for r in resources.values():
        if r["Type"] == "AWS::ApiGatewayV2::Api":
            for path_, methods in r["Properties"].get("Body", {}).get("paths", {}).items():
                for m, op in methods.items():
                    if m != "options":
                        template[f"{m.upper()} {path_}"] = bool(op.get("security"))
    src = (root / "tools/devserver/src/router.rs").read_text()
    block = re.search(r"pub const ROUTE_KEYS: &\[&str\] = &\[(.*?)\];", src, re.S).group(1)
    router = {}
    for entry in re.findall(r'"([^"]+)"', block):
        router[entry.removesuffix(" *")] = entry.endswith(" *")
    doc = yaml_parse(open(openapi_path).read())
    documented = {}
    for path_, methods in doc.get("paths", {}).items():
        for m, op in methods.items():
            if m in ("get", "post", "put", "patch", "delete"):
                documented[f"{m.upper()} {path_}"] = bool(op.get("security"))
    problems = []
    for name, routes in (("the template", template), ("the dev server's router", router)):
        for key in sorted(set(routes) - set(documented)):
            problems.append(f"{key} is served by {name} but not in {openapi_path}")
        for key in sorted(set(documented) - set(routes)):
            problems.append(f"{key} is in {openapi_path} but not served by {name}")
        for key in sorted(set(routes) & set(documented)):
            if routes[key] != documented[key]:
                problems.append(f"{key}: protected in {name}: {routes[key]}, in {openapi_path}: {documented[key]}")
    return report(problems, "", f"{openapi_path}: the same {len(documented)} routes as the template and the dev server, protection alike")


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--openapi":
        sys.exit(openapi_in_step(sys.argv[2], sys.argv[3]))
    if len(sys.argv) > 2 and sys.argv[1] == "--consumer-jwt":
        sys.exit(consumer_jwt(sys.argv[2]))
    if len(sys.argv) > 2 and sys.argv[1] == "--consumer":
        sys.exit(consumer(sys.argv[2]))
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml"))
