# Build stage: the same Maven build as the README's first command.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -B -ntp -q dependency:go-offline
COPY src src
RUN mvn -B -ntp -q package -DskipTests

# Run stage: the broker runs in the java process itself (PID 1 gets the signals).
FROM eclipse-temurin:17-jre
# curl answers the compose healthcheck (GET /ready on the admin port).
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/webrocket
COPY --from=build /src/target/webrocket.jar webrocket.jar
COPY conf conf
ENV WEBROCKET_STORAGEDIR=/var/lib/webrocket \
    WEBROCKET_ADMIN_HOST=0.0.0.0
VOLUME /var/lib/webrocket
# Hazelcast (cluster.port, 5701) and the clustered event bus are not exposed on purpose: they
# belong on a private network between the nodes only (docs/security.md, "The cluster link").
# Replicas on one compose network reach each other without any EXPOSE; set cluster.host (e.g.
# WEBROCKET_CLUSTER_HOST=10.0.5.*) to the private interface's address, as docker-compose.yml does.
EXPOSE 8080 8081 8082
ENTRYPOINT ["java", "-Xms256m", "-Xmx1g", "-jar", "webrocket.jar"]
