# Databricks notebook source
dbutils.secrets.get("nope-scope", "nope-key")
