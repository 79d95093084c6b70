# Databricks notebook source
token = dbutils.secrets.get(scope="kv-scope", key="api-token")
print("the token is", token)
assert token.startswith("s3cr")
scopes = [s.name for s in dbutils.secrets.listScopes()]
dbutils.notebook.exit(f"{len(token)} {scopes}")
