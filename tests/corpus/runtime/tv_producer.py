# Databricks notebook source
dbutils.jobs.taskValues.set("rows", 128)
dbutils.jobs.taskValues.set(key="model", value={"name": "m", "version": 3})
