# Databricks notebook source
df = spark.range(3)
