# Databricks notebook source
# MAGIC %run ./run_cycle_a
